from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConverseRequest(_message.Message):
    __slots__ = ("config", "audio", "end_of_audio", "cancel", "vad")
    CONFIG_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    END_OF_AUDIO_FIELD_NUMBER: _ClassVar[int]
    CANCEL_FIELD_NUMBER: _ClassVar[int]
    VAD_FIELD_NUMBER: _ClassVar[int]
    config: StreamConfig
    audio: AudioChunk
    end_of_audio: EndOfAudio
    cancel: Cancel
    vad: VadEvent
    def __init__(self, config: _Optional[_Union[StreamConfig, _Mapping]] = ..., audio: _Optional[_Union[AudioChunk, _Mapping]] = ..., end_of_audio: _Optional[_Union[EndOfAudio, _Mapping]] = ..., cancel: _Optional[_Union[Cancel, _Mapping]] = ..., vad: _Optional[_Union[VadEvent, _Mapping]] = ...) -> None: ...

class StreamConfig(_message.Message):
    __slots__ = ("utterance_id", "format", "language", "wake_word", "device", "device_transcript", "progress_interval_ms", "provisional_results", "latency_first")
    UTTERANCE_ID_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LANGUAGE_FIELD_NUMBER: _ClassVar[int]
    WAKE_WORD_FIELD_NUMBER: _ClassVar[int]
    DEVICE_FIELD_NUMBER: _ClassVar[int]
    DEVICE_TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_INTERVAL_MS_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_RESULTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_FIRST_FIELD_NUMBER: _ClassVar[int]
    utterance_id: str
    format: AudioFormat
    language: str
    wake_word: str
    device: DeviceContext
    device_transcript: str
    progress_interval_ms: int
    provisional_results: bool
    latency_first: bool
    def __init__(self, utterance_id: _Optional[str] = ..., format: _Optional[_Union[AudioFormat, _Mapping]] = ..., language: _Optional[str] = ..., wake_word: _Optional[str] = ..., device: _Optional[_Union[DeviceContext, _Mapping]] = ..., device_transcript: _Optional[str] = ..., progress_interval_ms: _Optional[int] = ..., provisional_results: _Optional[bool] = ..., latency_first: _Optional[bool] = ...) -> None: ...

class AudioFormat(_message.Message):
    __slots__ = ("sample_rate_hz", "channels", "encoding")
    class Encoding(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ENCODING_UNSPECIFIED: _ClassVar[AudioFormat.Encoding]
        LINEAR16: _ClassVar[AudioFormat.Encoding]
        OPUS: _ClassVar[AudioFormat.Encoding]
    ENCODING_UNSPECIFIED: AudioFormat.Encoding
    LINEAR16: AudioFormat.Encoding
    OPUS: AudioFormat.Encoding
    SAMPLE_RATE_HZ_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    ENCODING_FIELD_NUMBER: _ClassVar[int]
    sample_rate_hz: int
    channels: int
    encoding: AudioFormat.Encoding
    def __init__(self, sample_rate_hz: _Optional[int] = ..., channels: _Optional[int] = ..., encoding: _Optional[_Union[AudioFormat.Encoding, str]] = ...) -> None: ...

class DeviceContext(_message.Message):
    __slots__ = ("device_id", "area", "time_zone")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    AREA_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    area: str
    time_zone: str
    def __init__(self, device_id: _Optional[str] = ..., area: _Optional[str] = ..., time_zone: _Optional[str] = ...) -> None: ...

class AudioChunk(_message.Message):
    __slots__ = ("data",)
    DATA_FIELD_NUMBER: _ClassVar[int]
    data: bytes
    def __init__(self, data: _Optional[bytes] = ...) -> None: ...

class VadEvent(_message.Message):
    __slots__ = ("kind",)
    class Kind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        KIND_UNSPECIFIED: _ClassVar[VadEvent.Kind]
        SPEECH_END: _ClassVar[VadEvent.Kind]
        SPEECH_RESUMED: _ClassVar[VadEvent.Kind]
    KIND_UNSPECIFIED: VadEvent.Kind
    SPEECH_END: VadEvent.Kind
    SPEECH_RESUMED: VadEvent.Kind
    KIND_FIELD_NUMBER: _ClassVar[int]
    kind: VadEvent.Kind
    def __init__(self, kind: _Optional[_Union[VadEvent.Kind, str]] = ...) -> None: ...

class EndOfAudio(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Cancel(_message.Message):
    __slots__ = ("reason",)
    REASON_FIELD_NUMBER: _ClassVar[int]
    reason: str
    def __init__(self, reason: _Optional[str] = ...) -> None: ...

class ConverseResponse(_message.Message):
    __slots__ = ("utterance_id", "tier", "transcript", "intent", "reply", "timings", "trace_id", "sent_ms", "progress", "provisional")
    UTTERANCE_ID_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    TIMINGS_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    SENT_MS_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    PROVISIONAL_FIELD_NUMBER: _ClassVar[int]
    utterance_id: str
    tier: str
    transcript: Transcript
    intent: Intent
    reply: Reply
    timings: _containers.RepeatedCompositeFieldContainer[StageTiming]
    trace_id: str
    sent_ms: float
    progress: Progress
    provisional: Provisional
    def __init__(self, utterance_id: _Optional[str] = ..., tier: _Optional[str] = ..., transcript: _Optional[_Union[Transcript, _Mapping]] = ..., intent: _Optional[_Union[Intent, _Mapping]] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ..., timings: _Optional[_Iterable[_Union[StageTiming, _Mapping]]] = ..., trace_id: _Optional[str] = ..., sent_ms: _Optional[float] = ..., progress: _Optional[_Union[Progress, _Mapping]] = ..., provisional: _Optional[_Union[Provisional, _Mapping]] = ...) -> None: ...

class Provisional(_message.Message):
    __slots__ = ("hint", "audio_ms", "transcript", "intent", "reply", "acts")
    HINT_FIELD_NUMBER: _ClassVar[int]
    AUDIO_MS_FIELD_NUMBER: _ClassVar[int]
    TRANSCRIPT_FIELD_NUMBER: _ClassVar[int]
    INTENT_FIELD_NUMBER: _ClassVar[int]
    REPLY_FIELD_NUMBER: _ClassVar[int]
    ACTS_FIELD_NUMBER: _ClassVar[int]
    hint: int
    audio_ms: float
    transcript: Transcript
    intent: Intent
    reply: Reply
    acts: bool
    def __init__(self, hint: _Optional[int] = ..., audio_ms: _Optional[float] = ..., transcript: _Optional[_Union[Transcript, _Mapping]] = ..., intent: _Optional[_Union[Intent, _Mapping]] = ..., reply: _Optional[_Union[Reply, _Mapping]] = ..., acts: _Optional[bool] = ...) -> None: ...

class Progress(_message.Message):
    __slots__ = ("received_ms", "final_due_ms")
    RECEIVED_MS_FIELD_NUMBER: _ClassVar[int]
    FINAL_DUE_MS_FIELD_NUMBER: _ClassVar[int]
    received_ms: float
    final_due_ms: float
    def __init__(self, received_ms: _Optional[float] = ..., final_due_ms: _Optional[float] = ...) -> None: ...

class Transcript(_message.Message):
    __slots__ = ("text", "is_final", "confidence")
    TEXT_FIELD_NUMBER: _ClassVar[int]
    IS_FINAL_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    text: str
    is_final: bool
    confidence: float
    def __init__(self, text: _Optional[str] = ..., is_final: _Optional[bool] = ..., confidence: _Optional[float] = ...) -> None: ...

class Intent(_message.Message):
    __slots__ = ("name", "slots", "confidence")
    class SlotsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    SLOTS_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    slots: _containers.ScalarMap[str, str]
    confidence: float
    def __init__(self, name: _Optional[str] = ..., slots: _Optional[_Mapping[str, str]] = ..., confidence: _Optional[float] = ...) -> None: ...

class Reply(_message.Message):
    __slots__ = ("text",)
    TEXT_FIELD_NUMBER: _ClassVar[int]
    text: str
    def __init__(self, text: _Optional[str] = ...) -> None: ...

class StageTiming(_message.Message):
    __slots__ = ("name", "start_ms", "duration_ms")
    NAME_FIELD_NUMBER: _ClassVar[int]
    START_MS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    name: str
    start_ms: float
    duration_ms: float
    def __init__(self, name: _Optional[str] = ..., start_ms: _Optional[float] = ..., duration_ms: _Optional[float] = ...) -> None: ...
