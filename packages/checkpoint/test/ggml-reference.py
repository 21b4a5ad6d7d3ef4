"""Runs llama.cpp's own ggml reference routines (libggml-base.so from node-llama-cpp's prebuilt CPU binary) over
float32 / block files, so the TypeScript block formats can be compared with ggml byte for byte.

usage: ggml-reference.py LIBGGML_BASE OP TYPE COUNT INPUT OUTPUT
  OP quantize:   INPUT float32 values -> OUTPUT blocks   (quantize_row_<type>_ref)
  OP dequantize: INPUT blocks -> OUTPUT float32 values    (dequantize_row_<type>)
"""
import ctypes
import sys

lib_path, op, qtype, count, src, dst = sys.argv[1:7]
count = int(count)
block = {"q8_0": (32, 34), "q4_0": (32, 18), "q4_K": (256, 144), "q6_K": (256, 210)}[qtype]
nbytes = count // block[0] * block[1]
lib = ctypes.CDLL(lib_path)
data = open(src, "rb").read()
if op == "quantize":
    inp = (ctypes.c_float * count).from_buffer_copy(data)
    out = (ctypes.c_uint8 * nbytes)()
    fn = getattr(lib, f"quantize_row_{qtype}_ref")
else:
    inp = (ctypes.c_uint8 * nbytes).from_buffer_copy(data)
    out = (ctypes.c_float * count)()
    fn = getattr(lib, f"dequantize_row_{qtype}")
fn.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
fn.restype = None
fn(ctypes.addressof(inp), ctypes.addressof(out), count)
open(dst, "wb").write(bytes(out))
