"""ctypes bindings to the libopus bundled in the PyAV wheel (the one discord.py is pointed at too).

Why not PyAV's codec contexts: every PyAV ``encode``/``decode`` builds frame and packet objects
(and, encoding, runs an audio resampler graph), all holding the GIL, and gives the GIL up and
takes it back several times per frame. A ctypes call releases the GIL once for the whole
``opus_encode_float``/``opus_decode``, so with many guilds the codec work really runs on the
other core. The output is identical to PyAV's: same library, same settings (packets
byte-identical; decoding to 16-bit like FFmpeg's libopus wrapper).
"""

from __future__ import annotations

import ctypes
import functools
import glob
import importlib.util
import os

OPUS_APPLICATION_AUDIO = 2049
OPUS_SET_BITRATE = 4002
OPUS_SET_VBR = 4006
OPUS_SET_COMPLEXITY = 4010
OPUS_SET_INBAND_FEC = 4012
OPUS_SET_PACKET_LOSS_PERC = 4014
OPUS_GET_LOOKAHEAD = 4027
MAX_PACKET_BYTES = 4000  # libopus' own recommendation for one packet's buffer
MAX_FRAME_SAMPLES = 5760  # 120 ms at 48 kHz: the longest packet Opus allows


class OpusLibraryError(RuntimeError):
    """libopus is missing or refused a call (an installation problem, not a user error)."""


def library_path() -> str:
    """The libopus shared library inside the PyAV wheel."""
    # In the single-file binary too: av.__file__ is then inside the unpacked bundle, where
    # PyInstaller keeps the wheel's layout (av.libs/ beside av/); tests/test_binary.py checks it.
    # Found without importing PyAV: a render worker loads only libopus from it.
    spec = importlib.util.find_spec("av")
    if spec is None or spec.origin is None:
        raise OpusLibraryError("PyAV is not installed (pip install av)")
    base = os.path.dirname(spec.origin)
    candidates = sorted(glob.glob(base + ".libs/libopus*.so*") + glob.glob(os.path.join(base, ".dylibs", "libopus*")))
    if not candidates:
        raise OpusLibraryError("no libopus found in the PyAV wheel")
    return candidates[0]


@functools.cache
def _lib() -> ctypes.CDLL:
    lib = ctypes.CDLL(library_path())
    lib.opus_encoder_create.restype = ctypes.c_void_p
    lib.opus_encoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_encoder_destroy.restype = None
    lib.opus_encoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_encode_float.restype = ctypes.c_int32
    lib.opus_encode_float.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_int32]
    lib.opus_encoder_ctl.restype = ctypes.c_int  # variadic: arguments are passed as ctypes objects
    lib.opus_decoder_create.restype = ctypes.c_void_p
    lib.opus_decoder_create.argtypes = [ctypes.c_int32, ctypes.c_int, ctypes.POINTER(ctypes.c_int)]
    lib.opus_decoder_destroy.restype = None
    lib.opus_decoder_destroy.argtypes = [ctypes.c_void_p]
    lib.opus_decode.restype = ctypes.c_int
    lib.opus_decode.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int32, ctypes.c_void_p, ctypes.c_int,
                                ctypes.c_int]
    return lib


class RawOpusEncoder:
    """One libopus encoder state: interleaved float32 stereo at 48 kHz in, packets out."""

    def __init__(self, *, bitrate_bps: int, complexity: int, fec: bool, packet_loss_pct: int) -> None:
        lib = _lib()
        error = ctypes.c_int(0)
        state = lib.opus_encoder_create(48_000, 2, OPUS_APPLICATION_AUDIO, ctypes.byref(error))
        if not state or error.value != 0:
            raise OpusLibraryError(f"opus_encoder_create failed ({error.value})")
        self._state = ctypes.c_void_p(state)
        self._destroy = lib.opus_encoder_destroy
        self._encode = lib.opus_encode_float
        self._buffer = ctypes.create_string_buffer(MAX_PACKET_BYTES)
        for request, value in (
            (OPUS_SET_BITRATE, bitrate_bps),
            (OPUS_SET_VBR, 1),
            (OPUS_SET_COMPLEXITY, complexity),
            (OPUS_SET_INBAND_FEC, int(fec)),
            (OPUS_SET_PACKET_LOSS_PERC, packet_loss_pct),
        ):
            if lib.opus_encoder_ctl(self._state, request, ctypes.c_int32(value)) != 0:
                raise OpusLibraryError(f"opus_encoder_ctl({request}, {value}) failed")
        lookahead = ctypes.c_int32(0)
        lib.opus_encoder_ctl(self._state, OPUS_GET_LOOKAHEAD, ctypes.byref(lookahead))
        self.lookahead_samples = lookahead.value

    def encode(self, pcm_address: int, samples: int) -> bytes:
        """Encode ``samples`` per channel of interleaved float32 at ``pcm_address`` (the GIL is released)."""
        size = self._encode(self._state, pcm_address, samples, self._buffer, MAX_PACKET_BYTES)
        if size < 0:
            raise OpusLibraryError(f"opus_encode_float failed ({size})")
        return self._buffer.raw[:size]

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None and state.value:
            self._destroy(state)
            state.value = None


class RawOpusDecoder:
    """One libopus decoder state: packets in, interleaved int16 stereo at 48 kHz out."""

    def __init__(self) -> None:
        lib = _lib()
        error = ctypes.c_int(0)
        state = lib.opus_decoder_create(48_000, 2, ctypes.byref(error))
        if not state or error.value != 0:
            raise OpusLibraryError(f"opus_decoder_create failed ({error.value})")
        self._state = ctypes.c_void_p(state)
        self._destroy = lib.opus_decoder_destroy
        self._decode = lib.opus_decode

    def decode(self, packet: bytes, out_address: int, max_samples: int) -> int:
        """Decode into the int16 buffer at ``out_address`` (room for ``max_samples`` per channel);
        returns samples per channel, or a negative libopus error for a corrupt packet."""
        result: int = self._decode(self._state, packet, len(packet), out_address, max_samples, 0)
        return result

    def __del__(self) -> None:
        state = getattr(self, "_state", None)
        if state is not None and state.value:
            self._destroy(state)
            state.value = None
