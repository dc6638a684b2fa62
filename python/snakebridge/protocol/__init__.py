"""The stdio wire protocol (docs/protocol.md): frames and call meta."""

from .call import META_TRACE, PROMISED, CallMeta, Op, TraceContext, decode_call, encode_call
from .frames import (
    FLAG_PIPELINED,
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
    "FLAG_PIPELINED",
    "FLAG_SEGMENTS",
    "FLAG_STREAM",
    "HEADER",
    "HEADER_SIZE",
    "META_TRACE",
    "PROMISED",
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
