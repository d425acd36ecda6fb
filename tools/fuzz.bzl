"""tl_fuzz_test: one fuzz target, two ways to run it.

- `<name>` is a cc_test that replays the target's corpus under every configuration, so the
  corpus is a regression suite inside `bazel test //...`.
- `<name>_fuzzer` is the libFuzzer binary. It is tagged manual; build it with
  `bazel build --config=fuzz //pkg:<name>_fuzzer` and run it on a copy of the corpus.
"""

def tl_fuzz_test(name, srcs, corpus, deps = [], **kwargs):
    """corpus: labels of files or filegroups whose files are replayed."""
    native.cc_test(
        name = name,
        srcs = srcs,
        args = ["$(locations %s)" % c for c in corpus],
        data = corpus,
        deps = deps + ["//tools:fuzz_replay_main"],
        **kwargs
    )
    native.cc_binary(
        name = name + "_fuzzer",
        srcs = srcs,
        # The same compile flags as the replaying test (an include path, say).
        copts = kwargs.get("copts", []),
        deps = deps,
        linkopts = ["-fsanitize=fuzzer"],
        tags = ["manual"],
        testonly = True,
    )
