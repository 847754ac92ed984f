#!/bin/bash
# NAT instance boot script (Amazon Linux 2023). It runs once, on first boot; everything it
# sets survives reboots: the sysctl drop-in and the enabled iptables service.
set -euo pipefail

# Forward packets between interfaces; that is what makes this instance a router.
cat > /etc/sysctl.d/90-nat-instance.conf <<'SYSCTL'
net.ipv4.ip_forward = 1
SYSCTL
sysctl --system

# The Elastic IP is attached just after launch, so the package repositories may be out of
# reach for the first seconds: retry for up to ten minutes before giving up.
for attempt in $(seq 1 60); do
  if dnf install -y iptables-services; then
    break
  fi
  echo "iptables-services install attempt ${attempt} failed; retrying in 10 s" >&2
  sleep 10
done

# Masquerade what the VPC sends to the internet; traffic inside the VPC keeps its source.
iptables -t nat -F POSTROUTING
iptables -t nat -A POSTROUTING -s @VPC_CIDR@ ! -d @VPC_CIDR@ -j MASQUERADE
iptables -F FORWARD
iptables -P FORWARD ACCEPT
iptables-save > /etc/sysconfig/iptables
systemctl enable --now iptables
