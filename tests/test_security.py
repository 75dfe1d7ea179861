"""TLS, mutual TLS and bearer tokens on real tiers; plaintext only on loopback."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from conftest import AUSTEN_0880, WAKE_MYCROFT, run_files
from device.uplink import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from proxima.audio import to_bytes
from proxima.security import SecurityError, TlsFiles, channel_credentials, check_plaintext, make_dev_certs
from proxima.tiers import TierProcess

TOKEN = "device-7-secret"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    make_dev_certs(d)
    return d


@pytest.fixture(scope="module")
def mtls_tier(certs):
    """A regional tier on TLS that requires client certificates and a token."""
    with TierProcess("regional", extra_args=("--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"),
                                             "--tls-client-ca", str(certs / "ca.pem"), "--token", TOKEN)) as tier:
        yield tier.address


def client_tls(certs, with_cert=True):
    return TlsFiles(certs / "ca.pem", certs / "client.pem" if with_cert else None,
                    certs / "client.key" if with_cert else None)


def call(address, tls, metadata=()):
    with grpc.secure_channel(address, channel_credentials(tls)) as ch:
        requests = [pb.ConverseRequest(config=stream_config("u-sec", "alexa", "en", "t", "", "")),
                    pb.ConverseRequest(audio=pb.AudioChunk(data=to_bytes(np.zeros(16000, np.int16)))),
                    pb.ConverseRequest(end_of_audio=pb.EndOfAudio())]
        return list(pb_grpc.AssistantStub(ch).Converse(iter(requests), metadata=metadata, timeout=20))


def test_device_over_mutual_tls_with_token_is_answered(mtls_tier, certs, make_pipeline):
    device = make_pipeline([mtls_tier], None, uplink={"tls": client_tls(certs), "token": TOKEN}, policy="remote-only")
    r, = run_files(device, WAKE_MYCROFT, AUSTEN_0880)
    assert r.route == "regional" and "young man" in r.transcript.lower()


@pytest.mark.parametrize("metadata, phrase", [((), "no bearer token"),
                                              ((("authorization", "Bearer wrong"),), "unknown bearer token")])
def test_missing_or_wrong_token_is_unauthenticated(mtls_tier, certs, metadata, phrase):
    with pytest.raises(grpc.RpcError) as err:
        call(mtls_tier, client_tls(certs), metadata)
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED and phrase in err.value.details()


def test_right_token_is_served(mtls_tier, certs):
    final = call(mtls_tier, client_tls(certs), (("authorization", f"Bearer {TOKEN}"),))[-1]
    assert final.transcript.is_final and final.utterance_id == "u-sec"


def test_client_without_certificate_is_refused(mtls_tier, certs):
    with pytest.raises(grpc.RpcError) as err:
        call(mtls_tier, client_tls(certs, with_cert=False), (("authorization", f"Bearer {TOKEN}"),))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_server_certificate_from_another_ca_is_refused(mtls_tier, tmp_path):
    make_dev_certs(tmp_path)  # a different CA
    with pytest.raises(grpc.RpcError) as err:
        call(mtls_tier, TlsFiles(tmp_path / "ca.pem", tmp_path / "client.pem", tmp_path / "client.key"),
             (("authorization", f"Bearer {TOKEN}"),))
    assert err.value.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_only_on_loopback():
    check_plaintext("127.0.0.1:5000", forced=False)
    check_plaintext("localhost:5000", forced=False)
    check_plaintext("[::1]:5000", forced=False)
    with pytest.raises(SecurityError, match="not a loopback address"):
        check_plaintext("10.1.2.3:5000", forced=False)
    check_plaintext("10.1.2.3:5000", forced=True)


def test_serve_refuses_plaintext_off_loopback():
    from test_cli import assert_one_line_error, proxima

    assert_one_line_error(proxima("serve", "--port", "0", "--host", "0.0.0.0", timeout=60), "not a loopback address")
