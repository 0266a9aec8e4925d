// The rotary-embedding and SwiGLU kernels against double-precision formulas, and the RoPE coordinate rules against
// the formulas of timm's RotaryEmbeddingCat (EVA02) and RotaryEmbeddingDinoV3 as RotaryEmbedding.swift states them.
// The end-to-end references are timm's own outputs (BackboneParityTests).
import Foundation
import Testing
import TestSupport
@testable import ViTEngine

@Suite("Rotary embeddings and SwiGLU against double-precision formulas")
struct RotaryKernelTests {
  /// Deterministic values in [-2, 2).
  static func values(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int64(bitPattern: state >> 11) % 4000) / 1000
    }
  }

  /// Rotates pair p of every head by angle[row][p], in Double.
  static func rotateReference(_ x: [Float], rows: Int, ld: Int, heads: Int, d: Int, angles: [Double], halfSplit: Bool) -> [Float] {
    var out = x
    for r in 0..<rows {
      for h in 0..<heads {
        for p in 0..<(d / 2) {
          let (i, j) = halfSplit ? (p, p + d / 2) : (2 * p, 2 * p + 1)
          let a = Double(x[r * ld + h * d + i]), b = Double(x[r * ld + h * d + j]), t = angles[r * d / 2 + p]
          out[r * ld + h * d + i] = Float(a * cos(t) - b * sin(t))
          out[r * ld + h * d + j] = Float(b * cos(t) + a * sin(t))
        }
      }
    }
    return out
  }

  @Test("both pair layouts, SIMD widths and tails", arguments: [(4, false), (4, true), (12, false), (12, true), (16, false), (16, true), (40, true)])
  func rotation(d: Int, halfSplit: Bool) {
    let rows = 5, heads = 3, ld = 3 * heads * d + 7  // a padded qkv-like row: only the first heads·d are rotated
    let x = Self.values(rows * ld, seed: UInt64(d))
    let angles = Self.values(rows * d / 2, seed: 99).map { Double($0) * 3 }
    let cosT = angles.map { Float(cos($0)) }, sinT = angles.map { Float(sin($0)) }
    var got = x
    got.withUnsafeMutableBufferPointer { xp in
      rotateHeadsInPlace(xp.baseAddress!, ld: ld, count: rows, heads: heads, headDim: d, cos: cosT, sin: sinT, halfSplit: halfSplit)
    }
    let want = Self.rotateReference(x, rows: rows, ld: ld, heads: heads, d: d, angles: angles, halfSplit: halfSplit)
    expectClose(got, want, "rope d=\(d) half=\(halfSplit)", tolerance: 1e-6)
    for r in 0..<rows { #expect(Array(got[(r * ld + heads * d)..<((r + 1) * ld)]) == Array(x[(r * ld + heads * d)..<((r + 1) * ld)])) }
  }

  @Test func swiGLU() {
    let gate = RotaryKernelTests.values(1003, seed: 3).map { $0 * 6 }, up = RotaryKernelTests.values(1003, seed: 4)
    var got = gate
    got.withUnsafeMutableBufferPointer { g in up.withUnsafeBufferPointer { swiGLUInPlace(g.baseAddress!, up: $0.baseAddress!, count: 1003) } }
    let want = zip(gate, up).map { g, u in Float(Double(g) / (1 + exp(-Double(g))) * Double(u)) }
    expectClose(got, want, "silu(gate) * up", tolerance: 2e-6)
    let points: [Double] = [-90, -12, -1, 0, 1, 12, 90]
    var silu = points.map { Float($0) }
    silu.withUnsafeMutableBufferPointer { siluInPlace($0.baseAddress!, count: $0.count) }
    expectClose(silu, points.map { Float($0 / (1 + exp(-$0))) }, "silu", tolerance: 2e-6)
  }

  /// Angles from RotaryEmbedding.tables against the formulas written out (Double).
  func angles(_ rope: RotaryEmbedding, row: Float, col: Float, grid: GridSize, d: Int) -> [Double] {
    let position = [row, col]
    let (c, s) = position.withUnsafeBufferPointer { rope.tables(positions: $0.baseAddress!, count: 1, grid: grid, headDim: d) }
    return zip(c, s).map { atan2(Double($1), Double($0)) }
  }

  @Test func evaCoordinatesAndFrequencies() {
    // EVA02: u = index · ref / grid, f_i = 10000^(-i / (d/4)), rows first, interleaved pairs.
    let d = 16, grid = GridSize(rows: 4, cols: 5)
    let got = angles(.eva02, row: 2, col: 3, grid: grid, d: d)
    for p in 0..<(d / 2) {
      let u = p < d / 4 ? 2.0 * 16 / 4 : 3.0 * 16 / 5
      let want = u * pow(10000, -Double(p % (d / 4)) / Double(d / 4))
      #expect(abs(remainder(got[p] - want, 2 * .pi)) < 1e-5, "pair \(p)")
    }
    // 'xy' indexing puts the columns first.
    var xy = RotaryEmbedding.eva02
    xy.columnsFirst = true
    let swapped = angles(xy, row: 2, col: 3, grid: grid, d: d)
    #expect(Array(swapped[0..<4]) == Array(got[4..<8]) && Array(swapped[4..<8]) == Array(got[0..<4]))
  }

  @Test func dinov3CoordinatesAndPeriods() {
    // DINOv3: u = 2 (index + 0.5) / grid - 1, angle = 2π u / 100^(2i / (d/2)).
    let d = 16, grid = GridSize(rows: 4, cols: 6)
    let got = angles(.dinov3, row: 1, col: 5, grid: grid, d: d)
    for p in 0..<(d / 2) {
      let u = p < d / 4 ? 2 * 1.5 / 4 - 1 : 2 * 5.5 / 6 - 1
      let want = 2 * Double.pi * u / pow(100, 2 * Double(p % (d / 4)) / Double(d / 2))
      #expect(abs(remainder(got[p] - want, 2 * .pi)) < 1e-5, "pair \(p)")
    }
  }

  @Test func mergedPositionsAreSizeWeightedMeans() {
    var state = TokenState(x: Matrix(rows: 1 + 6, cols: 2), prefixCount: 1, grid: GridSize(rows: 2, cols: 3))
    state.size = [1, 1, 3, 1, 1, 2, 1]
    // Patches (0,0) size 1 and (0,1) size 3 merge; (1,1) size 2 joins (1,2); (0,2) and (1,0) stay alone.
    let newIndex = [0, 1, 1, 2, 3, 4, 4]
    let p = state.positions(after: newIndex, count: 5)
    #expect(Array(p[2..<4]) == [0, 0.75])  // (1·(0,0) + 3·(0,1)) / 4
    #expect(Array(p[4..<6]) == [0, 2] && Array(p[6..<8]) == [1, 0])  // untouched, exactly
    #expect(Array(p[8..<10]) == [1, Float(2 * 1 + 1 * 2) / 3])
  }
}
