# Assertions shared by the end-to-end scripts. Source it after defining `fail MESSAGE`
# (each script says what to print when a check fails: its daemon's log, its peer's log).
#   check WHAT COMMAND...     runs COMMAND; "ok - WHAT", or fail WHAT
#   quiet COMMAND...          COMMAND with its output dropped
#   ge A B                    A >= B (numbers as awk reads them: metrics may be floats)
#   wait_for SECONDS COMMAND...  polls COMMAND every 0.2 s until it succeeds or time is up
check() { local what=$1; shift; "$@" || fail "$what"; echo "ok - $what"; }
quiet() { "$@" >/dev/null; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
wait_for() {
  local deadline=$((${EPOCHREALTIME/./} + $1 * 1000000)); shift  # microseconds
  until "$@"; do
    ((${EPOCHREALTIME/./} < deadline)) || return 1
    sleep 0.2
  done
}
