#!/bin/bash
# Captures keepalived's VRRPv3 adverts over IPv6 between two network
# namespaces joined by a veth pair, the way the pcaps next to this script
# were made (Debian's keepalived 2.2.7, tcpdump 4.99). Root only; creates
# namespaces hvv<pid>a/b and removes them on exit.
#
#   capture_keepalived_ipv6.sh multicast|unicast|unicast-ttl255 [OUTDIR]
#
# keepalived (priority 150, VRID 51, 1 s adverts, VIPs fd00:99::100 and
# ::101) runs in namespace a for about 7 s, becomes master, and is then
# stopped with SIGTERM, so the capture ends with its priority-0 advert.
set -euo pipefail
mode=${1:?multicast, unicast or unicast-ttl255}
out=$(realpath "${2:-.}")
P=hvv$$
A=${P}a
B=${P}b
work=$(mktemp -d)
kpid=
tpid=
cleanup() {
  if [[ -n $kpid ]]; then kill "$kpid" 2>/dev/null || true; fi
  if [[ -n $tpid ]]; then kill "$tpid" 2>/dev/null || true; fi
  sleep 0.5
  ip netns del "$A" 2>/dev/null || true
  ip netns del "$B" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$A"
ip netns add "$B"
ip link add "${P}x" netns "$A" type veth peer name "${P}y" netns "$B"
ip -n "$A" link set "${P}x" address 02:00:0a:63:00:0b
ip -n "$B" link set "${P}y" address 02:00:0a:63:00:0c
for ns in "$A" "$B"; do
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link set lo up
done
ip -n "$A" addr add fe80::a:11/64 dev "${P}x" nodad
ip -n "$B" addr add fe80::a:12/64 dev "${P}y" nodad
ip -n "$A" addr add fd00:99::11/64 dev "${P}x" nodad
ip -n "$B" addr add fd00:99::12/64 dev "${P}y" nodad
ip -n "$A" link set "${P}x" up
ip -n "$B" link set "${P}y" up
sleep 1

unicast=""
case $mode in
multicast) ;;
unicast) unicast=$'  unicast_src_ip fe80::a:11\n  unicast_peer {\n    fe80::a:12\n  }' ;;
unicast-ttl255) unicast=$'  unicast_src_ip fe80::a:11\n  unicast_ttl 255\n  unicast_peer {\n    fe80::a:12\n  }' ;;
*)
  echo "unknown mode $mode" >&2
  exit 2
  ;;
esac
cat >"$work/keepalived.conf" <<CONF
global_defs {
  router_id cap
  vrrp_version 3
}
vrrp_instance VI_6 {
  state BACKUP
  interface ${P}x
  virtual_router_id 51
  priority 150
  advert_int 1
$unicast
  virtual_ipaddress {
    fd00:99::100/64 dev ${P}x
    fd00:99::101/64 dev ${P}x
  }
}
CONF
ip netns exec "$B" tcpdump -i "${P}y" -U -w "$work/capture.pcap" 'ip6 proto 112' 2>/dev/null &
tpid=$!
sleep 1
ip netns exec "$A" /usr/sbin/keepalived -n -l -D -f "$work/keepalived.conf" \
  -p "$work/k.pid" -r "$work/v.pid" -c "$work/c.pid" >"$work/keepalived.log" 2>&1 &
kpid=$!
sleep 7
kill -TERM "$kpid"
wait "$kpid" || true
kpid=
sleep 1.5
kill "$tpid"
wait "$tpid" || true
tpid=
cp "$work/capture.pcap" "$out/keepalived-2.2.7-ipv6-$mode.pcap"
