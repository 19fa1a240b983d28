#!/usr/bin/env bash
# install-deps.sh: install the Debian packages svcreg's system tests use
# (real DNS clients, resolvers and secondaries, promtool, avahi for the mDNS
# lab, Chromium for the web UI) and download the Go modules. Idempotent:
# does nothing when everything is present. Needs root for apt-get.
set -euo pipefail
PKGS=(
  bind9-dnsutils   # dig
  bind9-utils      # named-checkzone
  knot-dnsutils    # kdig
  knot             # knotd, the AXFR secondary and benchmark reference
  unbound          # stub-zone resolver test
  bind9            # named: forwarding resolver test (and secondary)
  pdns-recursor    # pdns_recursor: forward-zones resolver test
  knot-resolver    # kresd: policy.STUB resolver test
  dnsdist          # two primaries behind a load balancer (one serial)
  nsd              # nsd-checkzone
  dnsperf          # bench/dns.sh and overload tests
  prometheus       # promtool check metrics
  avahi-daemon avahi-utils dbus-daemon iproute2 util-linux tcpdump  # ../shared/tools/mdns-lab
  chromium         # web UI end-to-end test (headless)
  netbase          # /etc/services for the services-file tests and the default sources
  curl             # HTTP checks from inside the mDNS lab namespaces
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  SUDO=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      SUDO=(sudo -n)
    else
      echo "install-deps: need root (or password-less sudo) to apt-get install ${missing[*]}" >&2
      exit 1
    fi
  fi
  # policy-rc.d keeps packages from starting their daemons: tests start
  # their own instances on loopback.
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod +x /usr/sbin/policy-rc.d
    trap '"${SUDO[@]}" rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
go mod download
