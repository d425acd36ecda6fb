"""The peer harness's table: per-round ratios, their median and spread."""


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def fmt_value(v):
    if v is None:
        return "-"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def fmt_ratio(ratios):
    if not ratios:
        return "-"
    if len(ratios) == 1:
        return f"{ratios[0]:.2f}"
    return f"**{median(ratios):.2f}** ({min(ratios):.2f}-{max(ratios):.2f})"


def ratios(rounds, peer, base):
    """trustlink's figure over the baseline's, within each round that has both."""
    out = []
    for r in rounds:
        a, b = r.get(peer), r.get(base)
        if a is not None and b:
            out.append(a / b)
    return out


def peer_median(rounds, peer):
    vals = [r[peer] for r in rounds if r.get(peer) is not None]
    return median(vals) if vals else None


def render(rows, results, num_rounds):
    """A Markdown table: one line per row spec, medians of each peer's figure,
    and the same-run ratios as median (min-max) over the rounds."""
    lines = [
        "| figure | better | trustlink | stunnel | other peer | trustlink / stunnel | trustlink / other peer |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        rounds = results.get(row.key, [])
        tl = peer_median(rounds, row.subject)
        st = peer_median(rounds, "stunnel") if row.has_stunnel else None
        other = peer_median(rounds, row.other) if row.other else None
        lines.append(
            f"| {row.title} | {row.better} | {fmt_value(tl)} | "
            f"{fmt_value(st) if row.has_stunnel else 'n/a'} | "
            f"{(fmt_value(other) + ' (' + row.other_name + ')') if row.other else 'n/a'} | "
            f"{fmt_ratio(ratios(rounds, row.subject, 'stunnel')) if row.has_stunnel else 'n/a'} | "
            f"{fmt_ratio(ratios(rounds, row.subject, row.other)) if row.other else 'n/a'} |")
    lines.append("")
    lines.append(f"Ratios: trustlink's figure over the peer's, taken within each of "
                 f"{num_rounds} round(s); median (min-max). 'better' says which way "
                 f"a ratio should go.")
    return "\n".join(lines)
