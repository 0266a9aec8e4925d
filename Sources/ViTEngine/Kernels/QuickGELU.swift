// QuickGELU, x · sigmoid(1.702 x): the MLP activation of OpenAI's CLIP towers (timm `act_layer='quick_gelu'`, HF
// `hidden_act="quick_gelu"`). It differs from GELU by up to 0.02 per unit, so running one where the other belongs gives
// logits that look plausible and are wrong.
//
// Shape legend: x is any contiguous run of `count` floats (fc1's M x F output), transformed in place.

/// x · sigmoid(1.702 x) = x / (1 + exp(-1.702 x)), 8 lanes at a time with the polynomial exp of the softmax.
@inline(__always)
func simdQuickGELU(_ x: SIMD8<Float>) -> SIMD8<Float> {
  // simdExp clamps its argument to [-87, 88], so large |x| give 0 or x rather than inf or NaN.
  let one = SIMD8<Float>(repeating: 1)
  return x / (one + simdExp(x * SIMD8(repeating: -1.702)))
}

/// In place over `count` values.
public func quickGELUInPlace(_ x: UnsafeMutablePointer<Float>, count: Int) {
  var i = 0
  while i + 8 <= count {
    let v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
    UnsafeMutableRawPointer(x + i).storeBytes(of: simdQuickGELU(v), as: SIMD8<Float>.self)
    i += 8
  }
  if i < count {
    var tail = SIMD8<Float>()
    for j in 0..<(count - i) { tail[j] = x[i + j] }
    let g = simdQuickGELU(tail)
    for j in 0..<(count - i) { x[i + j] = g[j] }
  }
}
