// Rotary position embeddings (RoPE) of timm's Eva class, for EVA02 and DINOv3: the queries and keys of the patch
// tokens are rotated pair by pair through angles set by each token's grid coordinates; prefix tokens (class, storage)
// are not rotated. Nothing of it is a tensor: the variant and its settings come from the configuration
// (ArchitectureConfig.swift).
// ref: timm/layers/pos_embed_sincos.py (RotaryEmbeddingCat with build_fourier_pos_embed for EVA02,
// RotaryEmbeddingDinoV3 with make_coords_dinov3 for DINOv3, apply_rot_embed_cat), timm/models/eva.py (EvaAttention).
//
// The two variants share one form. A head of width d holds d/2 rotated pairs; pair p turns through
//   angle[p] = u_axis(p) · f[p mod d/4]    with axis(p) = p / (d/4): the first d/4 pairs follow one grid axis, the rest
//                                           the other (rows first with timm's 'ij' indexing, columns first with 'xy'),
// where u is the token's coordinate along that axis and f a frequency:
//   EVA02 ('cat'):  u = (index + offset) · ref / grid,   f_i = temperature^(-i / (d/4));
//   DINOv3:         u = 2 (index + 0.5) / grid - 1,      f_i = 2π / temperature^(2i / (d/2)).
// A pair is two elements (interleaved: 2p and 2p+1, EVA02; half-split: p and p + d/2, DINOv3), rotated as
//   (a, b) -> (a cos θ - b sin θ, b cos θ + a sin θ).
// Both coordinates are affine in the grid index, so a token standing for several patches (a merge) has a well-defined
// coordinate: the size-weighted mean of its patches' indices ([recon]; TokenState.position).

/// A model's rotary position embedding.
public struct RotaryEmbedding: Sendable, Equatable {
  public enum Kind: String, Sendable {
    /// timm's RotaryEmbeddingCat (rope_type 'cat'), EVA02's.
    case eva = "cat"
    /// timm's RotaryEmbeddingDinoV3 (rope_type 'dinov3').
    case dinov3
  }

  public var kind: Kind
  /// The frequency base (timm's rope_temperature): 10000 for EVA02, 100 for DINOv3.
  public var temperature: Float
  /// EVA02: the grid the coordinates are scaled to (timm's ref_feat_shape, 16x16 for every EVA02); nil for none.
  public var referenceGrid: GridSize?
  /// EVA02: a constant added to the grid index (timm's rope_grid_offset).
  public var gridOffset: Float
  /// Pairs are (p, p + d/2) (timm's rope_rotate_half) rather than (2p, 2p + 1).
  public var halfSplit: Bool
  /// The first half of the pairs follows the columns (timm's grid_indexing 'xy') rather than the rows ('ij').
  public var columnsFirst: Bool

  public init(kind: Kind, temperature: Float, referenceGrid: GridSize? = nil, gridOffset: Float = 0, halfSplit: Bool,
              columnsFirst: Bool = false) {
    self.kind = kind; self.temperature = temperature; self.referenceGrid = referenceGrid; self.gridOffset = gridOffset
    self.halfSplit = halfSplit; self.columnsFirst = columnsFirst
  }

  /// timm's registry settings: every eva02_* model, and every vit_*_dinov3* model.
  public static let eva02 = RotaryEmbedding(kind: .eva, temperature: 10000, referenceGrid: GridSize(rows: 16, cols: 16),
                                            halfSplit: false)
  public static let dinov3 = RotaryEmbedding(kind: .dinov3, temperature: 100, halfSplit: true)

  /// The d/4 frequencies f_i, in Float as timm computes them.
  func frequencies(headDim d: Int) -> [Float] {
    let bands = d / 4
    switch kind {
    case .eva:
      return (0..<bands).map { 1 / Foundationless.pow(temperature, Float($0) / Float(bands)) }
    case .dinov3:
      return (0..<bands).map { 2 * Float.pi / Foundationless.pow(temperature, 2 * Float($0) / Float(d / 2)) }
    }
  }

  /// The coordinate u of grid index `index` (continuous: a merged token's mean) along an axis of `count` cells.
  @inline(__always)
  func coordinate(_ index: Float, axisCount: Int, reference: Int?) -> Float {
    switch kind {
    case .eva:
      let u = index + gridOffset
      return reference.map { u / Float(axisCount) * Float($0) } ?? u
    case .dinov3:
      return 2 * ((index + 0.5) / Float(axisCount)) - 1
    }
  }

  /// The cos and sin tables of `count` tokens at grid positions `position` (row, column pairs, 2 per token) on `grid`:
  /// count x d/2 each, row t holding token t's angles.
  public func tables(positions position: UnsafePointer<Float>, count: Int, grid: GridSize, headDim d: Int)
    -> (cos: [Float], sin: [Float])
  {
    let half = d / 2, bands = d / 4
    let f = frequencies(headDim: d)
    var cosTable = [Float](repeating: 0, count: count * half), sinTable = [Float](repeating: 0, count: count * half)
    for t in 0..<count {
      let row = coordinate(position[2 * t], axisCount: grid.rows, reference: referenceGrid?.rows)
      let col = coordinate(position[2 * t + 1], axisCount: grid.cols, reference: referenceGrid?.cols)
      let (first, second) = columnsFirst ? (col, row) : (row, col)
      for p in 0..<half {
        // DINOv3 forms 2π·u / period; the frequency already holds 2π / period (the same to a rounding).
        let angle = (p < bands ? first : second) * f[p % bands]
        cosTable[t * half + p] = Foundationless.cos(angle)
        sinTable[t * half + p] = Foundationless.sin(angle)
      }
    }
    return (cosTable, sinTable)
  }
}

/// Rotates the heads of `count` rows in place: row r (at `x + r·ld`) holds `heads` heads of width d, and is turned by
/// row r of the cos/sin tables (count x d/2). `halfSplit`: pairs (p, p + d/2); else (2p, 2p + 1).
///
/// Shape legend: x is count rows of ld floats, the first heads·d of each rotated; cos, sin are count x d/2.
public func rotateHeadsInPlace(_ x: UnsafeMutablePointer<Float>, ld: Int, count: Int, heads: Int, headDim d: Int,
                               cos: UnsafePointer<Float>, sin: UnsafePointer<Float>, halfSplit: Bool) {
  let half = d / 2
  for r in 0..<count {
    let c = cos + (r &* half), s = sin + (r &* half)
    for h in 0..<heads {
      let v = x + (r &* ld &+ h &* d)
      if halfSplit {
        var p = 0
        // Both halves are contiguous: eight pairs per step.
        while p + 8 <= half {
          let a: SIMD8<Float> = UnsafeRawPointer(v + p).loadUnaligned(as: SIMD8<Float>.self)
          let b: SIMD8<Float> = UnsafeRawPointer(v + (half &+ p)).loadUnaligned(as: SIMD8<Float>.self)
          let cv: SIMD8<Float> = UnsafeRawPointer(c + p).loadUnaligned(as: SIMD8<Float>.self)
          let sv: SIMD8<Float> = UnsafeRawPointer(s + p).loadUnaligned(as: SIMD8<Float>.self)
          let first: SIMD8<Float> = a * cv - b * sv
          let second: SIMD8<Float> = b * cv + a * sv
          UnsafeMutableRawPointer(v + p).storeBytes(of: first, as: SIMD8<Float>.self)
          UnsafeMutableRawPointer(v + (half &+ p)).storeBytes(of: second, as: SIMD8<Float>.self)
          p += 8
        }
        while p < half {
          let a = v[p], b = v[half &+ p], cp = c[p], sp = s[p]
          v[p] = a * cp - b * sp
          v[half &+ p] = b * cp + a * sp
          p += 1
        }
      } else {
        // Interleaved pairs (2p, 2p + 1): a plain loop, which LLVM vectorises as an interleaved access group (a load,
        // a shuffle into even and odd lanes, and back). Swift's SIMD subscript by an index vector, used here before,
        // was not inlined: a call per vector cost EVA02-B more than the rotation itself.
        for p in 0..<half {
          let a = v[2 &* p], b = v[2 &* p &+ 1], cp = c[p], sp = s[p]
          v[2 &* p] = a * cp - b * sp
          v[2 &* p &+ 1] = b * cp + a * sp
        }
      }
    }
  }
}

/// The cos and sin tables of one set of token positions, kept for the next block: positions change only where a
/// method merges or drops tokens, and recomputing the d/2 angles of every token in every block cost EVA02-B 3% of a
/// forward pass (16 of 495 ms on 2 threads), mostly in cosf and sinf.
public struct RotaryTables: Sendable {
  public let positions: [Float]
  public let grid: GridSize
  public let headDim: Int
  public let cos: [Float], sin: [Float]

  /// The tables of rows `indices` only, in that order: copied, not recomputed (a policy rotating the queries of some
  /// tokens and the keys of all of them reads one set of tables).
  func rows(_ indices: [Int]) -> RotaryTables {
    let half = headDim / 2
    var c: [Float] = [], s: [Float] = [], p: [Float] = []
    c.reserveCapacity(indices.count * half); s.reserveCapacity(indices.count * half); p.reserveCapacity(2 * indices.count)
    for i in indices {
      c += cos[(i * half)..<((i + 1) * half)]
      s += sin[(i * half)..<((i + 1) * half)]
      p += positions[(2 * i)..<(2 * i + 2)]
    }
    return RotaryTables(positions: p, grid: grid, headDim: headDim, cos: c, sin: s)
  }
}

extension RotaryEmbedding {
  /// The tables for `positions` (row, column: 2 per token) on `grid`: `cached` when it was made for the same
  /// positions, grid and head width, else new ones.
  public func tables(positions: [Float], grid: GridSize, headDim d: Int, reusing cached: RotaryTables?) -> RotaryTables {
    if let cached, cached.headDim == d, cached.grid == grid, cached.positions == positions { return cached }
    let (c, s) = positions.withUnsafeBufferPointer {
      tables(positions: $0.baseAddress!, count: positions.count / 2, grid: grid, headDim: d)
    }
    return RotaryTables(positions: positions, grid: grid, headDim: d, cos: c, sin: s)
  }

  /// Rotates rows `rows` of `m` (one token each; patch tokens only, never a prefix token) at grid positions
  /// `positions` (row, column: 2 per rotated row, in order). `columns`: where the A-wide q and/or k blocks of a row
  /// start.
  func rotate(_ m: inout Matrix, rows: [Int], positions: [Float], grid: GridSize, columns: [Int], heads: Int, headDim d: Int) {
    guard !rows.isEmpty else { return }
    precondition(positions.count == 2 * rows.count, "rotate: \(positions.count / 2) positions for \(rows.count) rows")
    rotate(&m, rows: rows, tables: tables(positions: positions, grid: grid, headDim: d, reusing: nil), columns: columns,
           heads: heads)
  }

  /// Rotates rows `rows` of `m` by the rows of `tables` (row i of the tables turns `rows[i]`), on the engine's pool.
  func rotate(_ m: inout Matrix, rows: [Int], tables: RotaryTables, columns: [Int], heads: Int,
              pool: ThreadPool = .shared) {
    guard !rows.isEmpty else { return }
    let d = tables.headDim, ld = m.cols, half = d / 2
    precondition(tables.cos.count == rows.count * half, "rotate: tables for \(tables.cos.count / half) rows, \(rows.count) rows given")
    // Rows come in runs (every token after the prefix, usually): one kernel call per run and column block.
    var runs: [Range<Int>] = []
    var i = 0
    while i < rows.count {
      var j = i + 1
      while j < rows.count && rows[j] == rows[j - 1] + 1 { j += 1 }
      runs.append(i..<j)
      i = j
    }
    let halfSplit = self.halfSplit
    m.data.withUnsafeMutableBufferPointer { xp in
      tables.cos.withUnsafeBufferPointer { cp in
        tables.sin.withUnsafeBufferPointer { sp in
          rows.withUnsafeBufferPointer { rp in
            let x = SendablePointer(xp.baseAddress!), r = SendablePointer(UnsafeMutablePointer(mutating: rp.baseAddress!))
            let c = SendablePointer(UnsafeMutablePointer(mutating: cp.baseAddress!))
            let s = SendablePointer(UnsafeMutablePointer(mutating: sp.baseAddress!))
            // Each task turns a slice of the rotated rows: disjoint rows of m.
            pool.parallelRanges(rows.count, minChunk: 32, chunksPerThread: 1) { slice in
              for run in runs {
                let lo = Swift.max(run.lowerBound, slice.lowerBound), hi = Swift.min(run.upperBound, slice.upperBound)
                guard lo < hi else { continue }
                for start in columns {
                  rotateHeadsInPlace(x.p + (r.p[lo] &* ld &+ start), ld: ld, count: hi &- lo, heads: heads, headDim: d,
                                     cos: c.p + (lo &* half), sin: s.p + (lo &* half), halfSplit: halfSplit)
                }
              }
            }
          }
        }
      }
    }
  }
}
