"""TLS, mutual TLS and bearer tokens (from the command line, a file or the
environment) on real tiers; plaintext only on loopback."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from conftest import AUSTEN_0880, WAKE_MYCROFT, corpus, run_files
from common.contract import stream_config
from protos.v1 import assistant_pb2 as pb
from protos.v1 import assistant_pb2_grpc as pb_grpc
from common.audio import to_bytes
from proxima.cli import _device_config
from proxima.cli_parser import parser
from common.security import (SecurityError, TlsFiles, TokenInterceptor, channel_credentials, check_plaintext,
                              make_dev_certs)
from proxima.tiers import TierProcess

TOKEN = "device-7-secret"
FILE_TOKENS = ("device-8-from-file", "device-9-from-file")
ENV_TOKENS = ("device-10-from-env", "device-11-from-env")


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    make_dev_certs(d)
    return d


@pytest.fixture(scope="module")
def token_file(tmp_path_factory):
    """FILE_TOKENS one a line, between a comment and blank lines."""
    path = tmp_path_factory.mktemp("tokens") / "tokens.txt"
    path.write_text("# devices of the kitchen\n\n" + "\n".join(f"  {t}  " for t in FILE_TOKENS) + "\n\n")
    return path


@pytest.fixture(scope="module")
def mtls_tier(certs, token_file):
    """A regional tier on TLS that requires client certificates and a token,
    given three ways at once: --token, --token-file and PROXIMA_TOKENS."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PROXIMA_TOKENS", ",".join(ENV_TOKENS))
        with TierProcess("regional", extra_args=(
                "--tls-cert", str(certs / "server.pem"), "--tls-key", str(certs / "server.key"),
                "--tls-client-ca", str(certs / "ca.pem"), "--token", TOKEN, "--token-file", str(token_file))) as tier:
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


@pytest.mark.parametrize("token", [TOKEN, *FILE_TOKENS, *ENV_TOKENS])
def test_tokens_from_the_command_line_a_file_and_the_environment_add_up(mtls_tier, certs, token):
    final = call(mtls_tier, client_tls(certs), (("authorization", f"Bearer {token}"),))[-1]
    assert final.transcript.is_final


def device_token(*argv: str) -> str | None:
    """The token ``proxima device ARGV`` would send."""
    args = parser().parse_args(["device", "--wav", "x.wav", *argv])
    return _device_config(args, [], None).uplink.token


def test_device_token_from_a_file_authenticates(mtls_tier, certs, token_file):
    token = device_token("--token-file", str(token_file))
    assert token == FILE_TOKENS[0]  # the first non-empty, non-comment line
    assert call(mtls_tier, client_tls(certs), (("authorization", f"Bearer {token}"),))[-1].transcript.is_final


def test_device_token_from_the_environment_authenticates(mtls_tier, certs, monkeypatch):
    monkeypatch.setenv("PROXIMA_TOKEN", ENV_TOKENS[1])
    token = device_token()
    assert token == ENV_TOKENS[1]
    assert device_token("--token", TOKEN) == TOKEN  # the option wins over the environment
    assert call(mtls_tier, client_tls(certs), (("authorization", f"Bearer {token}"),))[-1].transcript.is_final


def test_token_comparison_checks_every_known_token(monkeypatch):
    import hmac

    compared = []
    real = hmac.compare_digest
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: compared.append(b) or real(a, b))
    interceptor = TokenInterceptor(frozenset({TOKEN, *FILE_TOKENS}))
    assert interceptor.known(TOKEN) and interceptor.known(FILE_TOKENS[1])
    assert not interceptor.known("device-7-secreT") and not interceptor.known("") and not interceptor.known(TOKEN + "x")
    assert len(compared) == 5 * 3, "each token is compared with all three, a match does not stop the loop"


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("device", "--wav", WAKE_MYCROFT)])
def test_missing_or_empty_token_file_is_one_line(tmp_path, command):
    from test_cli import assert_one_line_error, proxima

    command = tuple(str(corpus(a)) if a == WAKE_MYCROFT else a for a in command)  # a real file: it is checked first
    missing = tmp_path / "nope.txt"
    assert_one_line_error(proxima(*command, "--token-file", str(missing), timeout=60),
                          f"cannot read the token file {missing} (No such file or directory)")
    empty = tmp_path / "empty.txt"
    empty.write_text("# no token yet\n\n")
    assert_one_line_error(proxima(*command, "--token-file", str(empty), timeout=60), "holds no token")


def test_help_names_the_token_file_and_environment():
    from test_cli import proxima

    assert "PROXIMA_TOKENS" in proxima("serve", "--help", timeout=60).stdout
    device_help = proxima("device", "--help", timeout=60).stdout
    assert "PROXIMA_TOKEN " in device_help.replace("\n", " ") and "--token-file" in device_help


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
