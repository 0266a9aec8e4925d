// The MLP activations besides exact GELU (Elementwise.swift): QuickGELU, x · sigmoid(1.702 x), of OpenAI's CLIP towers
// (timm `act_layer='quick_gelu'`, HF `hidden_act="quick_gelu"`), and GELU's tanh approximation,
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x³))), of Hugging Face's SigLIP (`hidden_act="gelu_pytorch_tanh"`). QuickGELU
// differs from GELU by up to 0.02 per unit, the tanh form by up to 5e-4: running one where another belongs gives
// logits that look plausible and are wrong.
//
// SiLU, x · sigmoid(x), is SwiGLU's gate (timm's Eva class); swiGLUInPlace fuses it with the product by the up
// projection.
//
// Shape legend: x is any contiguous run of `count` floats (fc1's M x F output), transformed in place; for SwiGLU, gate
// and up are the M x F outputs of the two projections, and gate is overwritten with silu(gate) ⊙ up.

/// x · sigmoid(1.702 x) = x / (1 + exp(-1.702 x)), 8 lanes at a time with the polynomial exp of the softmax.
@_transparent
func simdQuickGELU(_ x: SIMD8<Float>) -> SIMD8<Float> {
  // simdExp clamps its argument to [-87, 88], so large |x| give 0 or x rather than inf or NaN.
  let one = SIMD8<Float>(repeating: 1)
  return x / (one + simdExp(x * SIMD8(repeating: -1.702)))
}

/// In place over `count` values.
public func quickGELUInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) { mapInPlace(x, count: count, simdQuickGELU) }

/// `f` over 8 lanes at a time, the tail padded with zeros (each activation maps 0 to 0, and the padding is discarded).
@_transparent
func mapInPlace(_ x: UnsafeMutablePointer<Float>, count: Int, _ f: (SIMD8<Float>) -> SIMD8<Float>) {
  var i = 0
  while i + 8 <= count {
    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
    UnsafeMutableRawPointer(x + i).storeBytes(of: f(v), as: SIMD8<Float>.self)
    i += 8
  }
  if i < count {
    var tail = SIMD8<Float>()
    for j in 0..<(count - i) { tail[j] = x[i + j] }
    let g = f(tail)
    for j in 0..<(count - i) { x[i + j] = g[j] }
  }
}

/// 0.5 x (1 + tanh(u)) with u = sqrt(2/pi) (x + 0.044715 x³), written as x · sigmoid(2u) = x / (1 + exp(-2u)).
@_transparent
func simdGELUTanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
  let one = SIMD8<Float>(repeating: 1)
  let u = x * (SIMD8(repeating: 0.797_884_560_802_865_4) * (one + SIMD8(repeating: 0.044_715) * x * x))
  return x / (one + simdExp(u * SIMD8(repeating: -2)))
}

/// In place over `count` values.
public func geluTanhInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) { mapInPlace(x, count: count, simdGELUTanh) }

/// x · sigmoid(x) = x / (1 + exp(-x)), 8 lanes at a time.
@_transparent
func simdSiLU(_ x: SIMD8<Float>) -> SIMD8<Float> {
  x / (SIMD8<Float>(repeating: 1) + simdExp(-x))
}

/// In place over `count` values.
public func siluInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) { mapInPlace(x, count: count, simdSiLU) }

/// gate[i] = silu(gate[i]) · up[i] over `count` values, 8 lanes at a time.
public func swiGLUInPlace(_ gate: UnsafeMutablePointer<Float>, up: UnsafePointer<Float>, count: Int) {
  var i = 0
  while i + 8 <= count {
    let g = UnsafeRawPointer(gate + i).loadUnaligned(as: SIMD8<Float>.self)
    let u = UnsafeRawPointer(up + i).loadUnaligned(as: SIMD8<Float>.self)
    UnsafeMutableRawPointer(gate + i).storeBytes(of: simdSiLU(g) * u, as: SIMD8<Float>.self)
    i += 8
  }
  while i < count {
    gate[i] = simdSiLU(SIMD8(repeating: gate[i]))[0] * up[i]
    i += 1
  }
}
