"""Tier addresses: one ``HOST:PORT``, or a gRPC target naming many replicas.

A plain ``HOST:PORT`` is one endpoint, reached as before (gRPC's default
pick_first). A target with a resolver scheme stands for a pool of replicas
behind one endpoint, and its channel balances streams over them:

- ``dns:///HOST:PORT`` (or ``dns:HOST:PORT``): every address the name resolves
  to, e.g. a Kubernetes headless Service, whose DNS name lists one address per
  ready pod;
- ``ipv4:A:P,B:P,..`` and ``ipv6:[A]:P,..``: a fixed list (loopback replicas
  on different ports, for tests and ``bench load --replicas``).

The forms follow gRPC's naming document (doc/naming.md in grpc/grpc); a port
is required everywhere here, since gRPC's DNS default (443) is rarely what a
tier listens on.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

from common.contract import HEALTH_SERVICE

BALANCED_SCHEMES = ("dns", "ipv4", "ipv6")
"""Resolver schemes whose targets are load-balanced pools."""

class TargetError(ValueError):
    """A tier address cannot be used; the message says which forms are accepted."""


@dataclass(frozen=True)
class Target:
    """A parsed tier address."""

    text: str
    """The address as given (what gRPC gets)."""
    hosts: tuple[tuple[str, int], ...]
    """``(host, port)`` of each address named; a DNS name counts as one."""
    balanced: bool
    """True for ``dns:``, ``ipv4:`` and ``ipv6:`` targets (many replicas, one endpoint)."""


_FORMS = "HOST:PORT, dns:///HOST:PORT, ipv4:A:PORT[,B:PORT..] or ipv6:[A]:PORT[,..] (ports 1..65535)"


def parse(text: str) -> Target:
    """Parse a tier address.

    Raises:
        TargetError: not one of the accepted forms.
    """
    scheme, sep, rest = text.partition(":")
    if sep and scheme in BALANCED_SCHEMES and not rest.isdigit():
        if scheme == "dns":
            # dns:[//authority/]host:port; an empty authority means the system resolver.
            if rest.startswith("//"):
                _authority, slash, rest = rest[2:].partition("/")
                if not slash:
                    raise TargetError(f"{text!r} is not a target: use {_FORMS}")
            if "," in rest:
                raise TargetError(f"{text!r}: a dns: target names one host; list addresses with ipv4: instead")
            hosts = (_host_port(rest, text),)
        else:
            hosts = tuple(_host_port(p, text, literal=scheme) for p in rest.split(","))
        return Target(text, hosts, balanced=True)
    return Target(text, (_host_port(text, text),), balanced=False)


def _host_port(part: str, text: str, literal: str | None = None) -> tuple[str, int]:
    """``(host, port)`` of ``part``; ``literal`` ("ipv4"/"ipv6"): the host must be such an address."""
    host, sep, port = part.rpartition(":")
    bad = not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535 or "/" in host or "," in host
    if literal == "ipv6":
        bad = bad or not (host.startswith("[") and host.endswith("]")) or not _is_ip(host[1:-1], 6)
    elif literal == "ipv4":
        bad = bad or not _is_ip(host, 4)
    if bad:
        raise TargetError(f"{text!r} is not an address: use {_FORMS}")
    return host, int(port)


def _is_ip(text: str, version: int) -> bool:
    try:
        return ipaddress.ip_address(text).version == version
    except ValueError:
        return False


def balanced_options(policy: str = "round_robin") -> tuple[tuple[str, object], ...]:
    """Channel options for a balanced target.

    ``policy`` is the gRPC load-balancing policy: ``round_robin`` keeps a
    connection to every replica and sends each new stream to the next one;
    the health check config makes the channel skip replicas that report
    NOT_SERVING on grpc.health.v1 (warming up, or draining after SIGTERM)
    before any stream is lost on them.
    """
    config = {"loadBalancingConfig": [{policy: {}}], "healthCheckConfig": {"serviceName": HEALTH_SERVICE}}
    return (
        ("grpc.service_config", json.dumps(config)),
        # Ours, not one a DNS TXT record might carry.
        ("grpc.service_config_disable_resolution", 1),
    )
