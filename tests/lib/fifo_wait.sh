# pkcs11_tool_reading FIFO: true while a pkcs11-tool process sits in read(2) on FIFO, its
# input, with nothing to read. pkcs11-tool reads its data after it has initialised, logged
# in and opened its session, so a test can act while a call is in flight.
# /proc/PID/syscall shows "0 <fd in hex> ..." while a process is blocked in read(2).
pkcs11_tool_reading() {
  local p fd nr arg
  for p in $(pgrep -x pkcs11-tool); do
    fd=$(ls -l "/proc/$p/fd" 2>/dev/null | awk -v f="$1" '$NF == f {print $(NF-2)}' | head -1)
    [[ -n "$fd" ]] || continue
    read -r nr arg _ < "/proc/$p/syscall" 2>/dev/null || continue
    [[ "$nr" == 0 && $((arg)) == "$fd" ]] && return 0
  done
  return 1
}
