"""The router's policy core on its own: real tiny.en and templates, real tiers on
loopback (or none), real audio, driven the way the pipeline drives it
(begin at the wake word, audio, an optional pause, finish at the endpoint)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from common.audio import FRAME_SAMPLES, SAMPLE_RATE
from common.home import default_home
from common.tracing import StreamClock, make_provider
from conftest import AUSTEN_0880, LIVING_ROOM, corpus
from device.config import DeviceConfig, UplinkConfig
from device.events import Endpoint, WakeDetection
from device.local import LocalPath
from device.router import LOCAL_ONLY_REPLY, NO_SPEECH_REPLY, NO_TIER_REPLY, Router
from device.skills import LocalSkills
from device.source import read_audio
from device.uplink import Uplink

WAKE = WakeDetection("hey_mycroft", 0.9, 1000.0)


@pytest.fixture(scope="module")
def local() -> LocalPath:
    return LocalPath("tiny.en", "en")


def make_router(local: LocalPath, policy: str = "parallel", tiers: dict | None = None) -> Router:
    clock = StreamClock()
    provider, collector = make_provider("router-test")
    tracer = provider.get_tracer("test")
    uplink_cfg = UplinkConfig(regional=(tiers["regional"],), cloud=tiers["cloud"]) if tiers else UplinkConfig()
    cfg = DeviceConfig(policy=policy, uplink=uplink_cfg)
    uplink = Uplink(cfg.uplink, clock, tracer) if tiers and policy != "local-only" else None
    skills = LocalSkills(home=copy.deepcopy(default_home()))
    return Router(cfg, local if policy != "remote-only" else None, skills, uplink, tracer, collector, clock)


def hear(router: Router, rel: str, pause: bool = False):
    """One utterance of ``rel`` through ``router``: (result, utterance)."""
    audio = read_audio(corpus(rel))
    utt = router.begin(WAKE)
    for i in range(0, len(audio), FRAME_SAMPLES):
        router.add_audio(utt, audio[i:i + FRAME_SAMPLES])
    if pause:
        router.speculate(utt)
    end_ms = WAKE.end_ms + len(audio) * 1000.0 / SAMPLE_RATE
    return router.finish(utt, Endpoint("speech_end", end_ms, end_ms + 300.0)), utt


def test_a_confident_command_is_answered_on_the_device_and_acted_on_once(local):
    router = make_router(local)
    result, utt = hear(router, LIVING_ROOM)
    assert result.route == "local" and result.intent.name == "HassTurnOn"
    light = next(e for e in router.skills.home.entities if e.id == "light.living_room_ceiling")
    assert light.state == "on"
    light.state = "off"
    assert router._act(utt, result.intent) == result.reply  # the same utterance id: not carried out again
    assert light.state == "off"


def test_without_a_tier_a_question_says_why_it_has_no_answer(local):
    result, _ = hear(make_router(local), AUSTEN_0880)
    assert result.route == "offline" and result.reply == NO_TIER_REPLY and result.transcript


def test_local_only_keeps_a_question_off_the_network(local, tiers):
    result, _ = hear(make_router(local, "local-only", tiers), AUSTEN_0880)
    assert result.route == "offline" and result.reply == LOCAL_ONLY_REPLY


def test_a_question_is_answered_by_the_regional_tier(local, tiers):
    result, _ = hear(make_router(local, "parallel", tiers), AUSTEN_0880)
    assert result.route == "regional" and result.reply
    assert any(s.name == "regional.asr" for s in result.spans)


def test_local_first_sends_the_audio_only_when_the_device_declines(local, tiers):
    router = make_router(local, "local-first", tiers)
    utt = router.begin(WAKE)
    assert utt.stream is None  # nothing left the device at the wake word
    result, _ = hear(router, AUSTEN_0880)
    assert result.route == "regional"
    command, _ = hear(router, LIVING_ROOM)
    assert command.route == "local" and not command.failovers


def test_an_early_result_at_the_pause_is_used_at_the_endpoint(local):
    router = make_router(local)
    result, utt = hear(router, LIVING_ROOM, pause=True)
    early = router.early(utt, wait=True)
    assert early.ready and early.command and "living room" in early.transcript.lower()
    assert result.route == "local" and result.transcript == early.transcript


def test_speech_that_resumes_discards_the_early_result(local):
    router = make_router(local)
    audio = read_audio(corpus(LIVING_ROOM))
    utt = router.begin(WAKE)
    router.add_audio(utt, audio[:len(audio) // 3])
    router.speculate(utt)
    router.discard_speculation(utt)
    assert router.early(utt) is None
    router.add_audio(utt, audio[len(audio) // 3:])
    end_ms = WAKE.end_ms + len(audio) * 1000.0 / SAMPLE_RATE
    result = router.finish(utt, Endpoint("speech_end", end_ms, end_ms + 300.0))
    assert result.intent is not None and result.intent.name == "HassTurnOn"  # the whole command, not its first third


def test_no_speech_after_the_wake_word_gets_its_own_reply(local, tiers):
    router = make_router(local, "parallel", tiers)
    utt = router.begin(WAKE)
    router.add_audio(utt, np.zeros(FRAME_SAMPLES * 10, np.int16))
    result = router.finish(utt, Endpoint("no_speech", None, WAKE.end_ms + 3000.0))
    assert result.route == "none" and result.reply == NO_SPEECH_REPLY
    assert result.latency_ms["speech_end_to_reply"] is None
