// Position-embedding resampling when the image grid differs from the checkpoint's, as timm does it:
// resample_abs_pos_embed -> F.interpolate(mode='bicubic', antialias=True, align_corners=False).
// ref: timm/layers/pos_embed.py; aten/src/ATen/native/cpu/UpSampleKernel.cpp (_compute_weights_aa, aa_filter).
// With antialias=True PyTorch uses the separable "AA" kernel for up- and downscaling alike: Keys' cubic with a = -0.5,
// support 2 * max(scale, 1), weights normalised per output position; width first, then height.
//
// Shape legend: input is h0 x w0 positions of C channels (row-major positions, channels last); output h1 x w1 x C.

public enum PosEmbedResampler {
  /// Weights of one output position along one axis: the first input index and the normalised weights.
  static func weights(outputSize: Int, inputSize: Int) -> [(start: Int, weights: [Float])] {
    let scale = Float(inputSize) / Float(outputSize)
    let support: Float = scale >= 1 ? 2 * scale : 2
    let invScale: Float = scale >= 1 ? 1 / scale : 1
    return (0..<outputSize).map { i in
      let center = scale * (Float(i) + 0.5)
      let xmin = Swift.max(Int(center - support + 0.5), 0)
      let xsize = Swift.min(Int(center + support + 0.5), inputSize) - xmin
      var w = (0..<Swift.max(xsize, 0)).map { j in cubicAA((Float(j + xmin) - center + 0.5) * invScale) }
      let total = w.reduce(0, +)
      if total != 0 { w = w.map { $0 / total } }
      return (xmin, w)
    }
  }

  /// Keys' cubic convolution kernel with a = -0.5 (PIL's and PyTorch's antialiased bicubic).
  static func cubicAA(_ x: Float) -> Float {
    let a: Float = -0.5
    let x = abs(x)
    if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
    if x < 2 { return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a }
    return 0
  }

  /// Resamples grid positions (h0*w0 rows of C) to h1 x w1.
  public static func resample(_ positions: Matrix, from old: GridSize, to new: GridSize) -> Matrix {
    precondition(positions.rows == old.count, "resample: \(positions.rows) positions for a \(old) grid")
    if old == new { return positions }
    let c = positions.cols
    // Width pass: h0 x w1.
    let wx = weights(outputSize: new.cols, inputSize: old.cols)
    var mid = Matrix(rows: old.rows * new.cols, cols: c)
    for y in 0..<old.rows {
      for (xo, (start, ws)) in wx.enumerated() {
        let dst = (y * new.cols + xo) * c
        for (j, w) in ws.enumerated() {
          let src = (y * old.cols + start + j) * c
          for ch in 0..<c { mid.data[dst + ch] += w * positions.data[src + ch] }
        }
      }
    }
    // Height pass: h1 x w1.
    let wy = weights(outputSize: new.rows, inputSize: old.rows)
    var out = Matrix(rows: new.count, cols: c)
    for (yo, (start, ws)) in wy.enumerated() {
      for x in 0..<new.cols {
        let dst = (yo * new.cols + x) * c
        for (j, w) in ws.enumerated() {
          let src = ((start + j) * new.cols + x) * c
          for ch in 0..<c { out.data[dst + ch] += w * mid.data[src + ch] }
        }
      }
    }
    return out
  }
}
