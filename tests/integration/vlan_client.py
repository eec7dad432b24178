#!/usr/bin/python3
"""Tagged DHCP clients for bng_e2e.sh: a DORA with one 802.1Q tag and one with QinQ
(802.1ad outer + 802.1Q inner), each done twice — the first goes to the slow path, the
repeat is answered by XDP from the cache — checking that replies carry the same tags.
Prints '<kind> <slow|fast> ok' per completed DORA."""
import random
import sys

from scapy.all import (BOOTP, DHCP, IP, UDP, Dot1AD, Dot1Q, Ether, conf, mac2str, sendp,
                       sniff)

conf.verb = 0
iface = sys.argv[1]


def tags_of(pkt):
    tags = []
    layer = pkt.payload
    while isinstance(layer, (Dot1AD, Dot1Q)):
        tags.append((type(layer).__name__, layer.vlan))
        layer = layer.payload
    return tags


def frame(mac, tags, options, xid):
    l2 = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
    for kind, vid in tags:
        l2 = l2 / (Dot1AD(vlan=vid) if kind == "Dot1AD" else Dot1Q(vlan=vid))
    return (l2 / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
            BOOTP(chaddr=mac2str(mac), xid=xid, flags=0x8000) / DHCP(options=options + ["end"]))


def exchange(mac, tags, options, want):
    xid = random.getrandbits(32)
    request = frame(mac, tags, options, xid)
    # Listen first, then send: the reply can come back within microseconds (XDP).
    got = sniff(iface=iface, count=1, timeout=3,
                lfilter=lambda p: p.haslayer(BOOTP) and p[BOOTP].xid == xid and p[BOOTP].op == 2,
                started_callback=lambda: sendp(request, iface=iface))
    reply = got[0] if got else None
    if reply is None:
        raise SystemExit(f"no reply to {options[0]} with tags {tags}")
    if tags_of(reply) != tags:
        raise SystemExit(f"reply tags {tags_of(reply)} != request tags {tags}")
    kind = dict(o for o in reply[DHCP].options if isinstance(o, tuple))["message-type"]
    if kind != want:
        raise SystemExit(f"got DHCP type {kind}, wanted {want}")
    return reply


def dora(mac, tags):
    offer = exchange(mac, tags, [("message-type", "discover")], 2)
    yiaddr = offer[BOOTP].yiaddr
    server = dict(o for o in offer[DHCP].options if isinstance(o, tuple))["server_id"]
    exchange(mac, tags, [("message-type", "request"), ("requested_addr", yiaddr),
                         ("server_id", server)], 5)
    return yiaddr


for kind, mac, tags in (("dot1q", "02:00:00:00:01:01", [("Dot1Q", 100)]),
                        ("qinq", "02:00:00:00:01:02", [("Dot1AD", 200), ("Dot1Q", 300)])):
    first = dora(mac, tags)
    print(f"{kind} slow ok {first}")
    again = dora(mac, tags)
    if again != first:
        raise SystemExit(f"{kind}: repeat got {again}, first got {first}")
    print(f"{kind} fast ok {again}")
