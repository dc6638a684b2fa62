"""The stdio wire protocol (docs/protocol.md): frames and call meta."""

from .call import META_TRACE, CallMeta, Op, TraceContext, decode_call, encode_call
from .frames import (
    FLAG_SEGMENTS,
    FLAG_STREAM,
    HEADER,
    HEADER_SIZE,
    Frame,
    FrameReader,
    FrameTooLarge,
    Kind,
    encode_frame,
    frame_parts,
)

__all__ = [
    "FLAG_SEGMENTS",
    "FLAG_STREAM",
    "HEADER",
    "HEADER_SIZE",
    "META_TRACE",
    "CallMeta",
    "Frame",
    "FrameReader",
    "FrameTooLarge",
    "Kind",
    "Op",
    "TraceContext",
    "decode_call",
    "encode_call",
    "encode_frame",
    "frame_parts",
]
