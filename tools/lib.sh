# Sourced by the shell scripts under tools/: quiet on success, the reason on failure.

# quietly LOG COMMAND...: runs COMMAND with its output (stdout and stderr: ninja writes compiler errors
# on stdout) in LOG. Prints nothing when it succeeds; when it fails, prints the command, its exit
# status and the last 60 lines of LOG on stderr, and exits with that status.
quietly() {
  local log=$1
  shift
  mkdir -p "$(dirname "$log")"
  local status=0
  "$@" >"$log" 2>&1 || status=$?
  if [ "$status" -ne 0 ]; then
    {
      echo "$(basename "$0"): failed (exit $status): $*"
      echo "---- last lines of $log ----"
      tail -n 60 "$log"
      echo "---- (the whole output is in $log)"
    } >&2
    exit "$status"
  fi
}
