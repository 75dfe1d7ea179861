"""Tier addresses: a plain HOST:PORT, or a load-balanced pool (``common.targets``)."""

from __future__ import annotations

import pytest

from common.targets import TargetError, parse


@pytest.mark.parametrize("text,hosts", [
    ("dns:///regional.proxima.svc.cluster.local:50051", (("regional.proxima.svc.cluster.local", 50051),)),
    ("ipv4:127.0.0.1:5001,127.0.0.1:5002", (("127.0.0.1", 5001), ("127.0.0.1", 5002))),
    ("ipv6:[::1]:5001", (("[::1]", 5001),)),
])
def test_balanced_targets_parse(text, hosts):
    target = parse(text)
    assert target.balanced and target.hosts == hosts


@pytest.mark.parametrize("text", ["dns:///regional", "ipv4:localhost:5001", "ipv4:127.0.0.1", "dns:///a:1,b:2",
                                  "http://x:5", "x:0", "ipv6:::1:5"])
def test_bad_targets_are_refused(text):
    with pytest.raises(TargetError):
        parse(text)
