# shellcheck shell=bash
# FreeRADIUS 3.2 as a test peer, started by hand (no systemd): a raddb copied from the
# stock /etc/freeradius/3.0 into a test directory, the eap module and the stock sites
# removed (no EAP certificates are generated, and they listen on the fixed ports), one site
# of our own on the ports the caller picks, run_dir and logdir in the test directory, run in
# the foreground as root, stopped by PID. Source this file; functions return non-zero with a
# message on stderr.
#
#   fr_available                        true when freeradius and radclient are installed and the
#                                       stock raddb is readable (Debian's is not, but for root
#                                       and group freerad)
#   fr_free_udp_port                    prints a UDP port nothing listens on
#   fr_start <dir> <auth_port> <acct_port> [<netns>]
#       Before calling, the caller may write <dir>/users (FreeRADIUS users file) and
#       <dir>/clients.conf (client sections); without them: no users, and one client
#       127.0.0.1 with secret "testing123". Listens on every address of the namespace.
#       Waits until the server says it is ready; its PID is in <dir>/radiusd.pid.
#   fr_stop <dir>                       stops the server started in <dir> (SIGTERM, then SIGKILL)
#   fr_detail_file <dir> [<client_ip>]  path of today's accounting detail file for that client
#   fr_detail_has <dir> PATTERN...      true when one record of that file (client 127.0.0.1)
#                                       matches every PATTERN (awk regular expressions)
#   fr_detail_fields <dir> ATTR...      one line per record of that file: the values of the
#                                       ATTRs, tab-separated, quotes dropped, "-" when absent
#   fr_log <dir>                        path of the server's log
#
# The stock security settings stay, among them reject_delay = 1: every Access-Reject arrives
# a second late, so a client timeout for rejects must be longer than that.

FR_STOCK_RADDB=${FR_STOCK_RADDB:-/etc/freeradius/3.0}

fr_available() {
  command -v freeradius >/dev/null 2>&1 && command -v radclient >/dev/null 2>&1 &&
    [[ -d $FR_STOCK_RADDB && -z $(find "$FR_STOCK_RADDB" ! -readable -print -quit 2>/dev/null) ]]
}

fr_free_udp_port() {
  local port
  for _ in $(seq 1 200); do
    port=$((20000 + RANDOM % 40000))
    if [[ -z $(ss -Hlun "sport = :$port" 2>/dev/null) ]]; then
      echo "$port"
      return 0
    fi
  done
  echo "fr_free_udp_port: no free port found" >&2
  return 1
}

fr_log() { echo "$1/log/radius.log"; }

fr_detail_file() {
  local dir=$1 client=${2:-127.0.0.1}
  echo "$dir/log/radacct/$client/detail-$(date -u +%Y%m%d)"
}

fr_detail_has() {
  local file
  file=$(fr_detail_file "$1")
  shift
  [[ -f $file ]] || return 1
  awk -v RS='' -v n=$# 'BEGIN { for (i = 1; i <= n; i++) want[i] = ARGV[i]; ARGC = 1 }
    { ok = 1; for (i = 1; i <= n; i++) if ($0 !~ want[i]) ok = 0; if (ok) found = 1 }
    END { exit !found }' "$@" <"$file"
}

# Records are separated by a blank line; the first line of each is its timestamp, then one
# "<tab>Attribute = value" line per attribute.
fr_detail_fields() {
  local file
  file=$(fr_detail_file "$1")
  shift
  [[ -f $file ]] || return 0
  awk -v RS='' -v FS='\n' -v names="$*" 'BEGIN { n = split(names, want, " ") }
    { split("", v)
      for (i = 2; i <= NF; i++) {
        line = $i; sub(/^[ \t]+/, "", line)
        eq = index(line, " = "); if (!eq) continue
        val = substr(line, eq + 3); gsub(/^"|"$/, "", val)
        v[substr(line, 1, eq - 1)] = val
      }
      out = ""
      for (i = 1; i <= n; i++) out = out (i > 1 ? "\t" : "") ((want[i] in v) ? v[want[i]] : "-")
      print out }' "$file"
}

# Writes <dir>/raddb from the stock configuration.
_fr_write_raddb() {
  local dir=$1 auth_port=$2 acct_port=$3
  local raddb=$dir/raddb
  rm -rf "$raddb"
  cp -a "$FR_STOCK_RADDB" "$raddb" || return 1
  rm -f "$raddb/mods-enabled/eap" "$raddb"/sites-enabled/*
  mkdir -p "$dir/run" "$dir/log/radacct"
  # Paths into the test directory; run as the invoking user (root here), not freerad.
  sed -i -e "s|^logdir = .*|logdir = $dir/log|" \
         -e "s|^run_dir = .*|run_dir = $dir/run|" \
         -e 's|^\(\s*\)user = freerad|\1#user = freerad|' \
         -e 's|^\(\s*\)group = freerad|\1#group = freerad|' \
         "$raddb/radiusd.conf" || return 1
  if [[ -f $dir/users ]]; then
    cp "$dir/users" "$raddb/mods-config/files/authorize"
  else
    : >"$raddb/mods-config/files/authorize"
  fi
  if [[ -f $dir/clients.conf ]]; then
    cp "$dir/clients.conf" "$raddb/clients.conf"
  else
    printf 'client test {\n\tipaddr = 127.0.0.1\n\tsecret = testing123\n}\n' >"$raddb/clients.conf"
  fi
  # The timestamp header of every detail record is kept; Class arrives as hex (TESTBED.md).
  cat >"$raddb/sites-enabled/bngkit-test" <<SITE
server bngkit-test {
listen {
	type = auth
	ipaddr = *
	port = $auth_port
}
listen {
	type = acct
	ipaddr = *
	port = $acct_port
}
authorize {
	preprocess
	chap
	files
	pap
	Autz-Type Status-Server {
		ok
	}
}
authenticate {
	Auth-Type PAP {
		pap
	}
	Auth-Type CHAP {
		chap
	}
}
preacct {
	preprocess
	acct_unique
	files
}
accounting {
	detail
	attr_filter.accounting_response
}
post-auth {
	Post-Auth-Type REJECT {
		attr_filter.access_reject
	}
}
}
SITE
}

fr_start() {
  local dir=$1 auth_port=$2 acct_port=$3 netns=${4:-}
  if [[ -z $dir || -z $auth_port || -z $acct_port ]]; then
    echo "fr_start: usage: fr_start <dir> <auth_port> <acct_port> [<netns>]" >&2
    return 2
  fi
  fr_available || { echo "fr_start: freeradius/radclient not installed" >&2; return 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  _fr_write_raddb "$dir" "$auth_port" "$acct_port" || {
    echo "fr_start: cannot write $dir/raddb" >&2
    return 1
  }
  local -a exec_prefix=()
  [[ -n $netns ]] && exec_prefix=(ip netns exec "$netns")
  # -f: foreground (so the PID is ours to stop), logging to files as configured.
  "${exec_prefix[@]}" freeradius -f -d "$dir/raddb" </dev/null >"$dir/stdout.log" 2>&1 &
  local pid=$!
  echo "$pid" >"$dir/radiusd.pid"
  local log
  log=$(fr_log "$dir")
  for _ in $(seq 1 100); do
    if ! _fr_alive "$pid"; then
      echo "fr_start: freeradius exited during start-up; its output:" >&2
      cat "$dir/stdout.log" >&2
      [[ -f $log ]] && tail -20 "$log" >&2
      rm -f "$dir/radiusd.pid"
      return 1
    fi
    if [[ -f $log ]] && grep -q "Ready to process requests" "$log"; then
      return 0
    fi
    sleep 0.1
  done
  echo "fr_start: freeradius (pid $pid) not ready after 10 s" >&2
  fr_stop "$dir"
  return 1
}

# Running and not a zombie (an orphaned server may wait for a PID 1 that does not reap).
_fr_alive() {
  local state
  state=$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null) || return 1
  [[ -n $state && $state != Z ]]
}

fr_stop() {
  local dir=$1 pid
  [[ -f $dir/radiusd.pid ]] || return 0
  pid=$(cat "$dir/radiusd.pid")
  if _fr_alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 50); do
      _fr_alive "$pid" || break
      sleep 0.1
    done
    _fr_alive "$pid" && kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  rm -f "$dir/radiusd.pid"
  return 0
}
