// Matrix: the engine's one tensor type, a row-major 2-D Float32 buffer.
//
// Shape legend used across the engine: N = tokens (incl. prefix tokens), C = embedding width, H = heads,
// d = head width, A = H*d attention width, F = MLP hidden width, P = patches (grid h*w).
// Token sequences are N x C matrices; per-head tensors are flattened H x (rows x cols).

public struct Matrix: Sendable, Equatable {
  public private(set) var rows: Int
  public let cols: Int
  public var data: [Float]

  public init(rows: Int, cols: Int) {
    precondition(rows >= 0 && cols >= 0, "Matrix(rows: \(rows), cols: \(cols))")
    self.rows = rows
    self.cols = cols
    self.data = [Float](repeating: 0, count: rows * cols)
  }

  /// A matrix whose every element the caller writes before reading (GEMM, LayerNorm and attention outputs): skips
  /// zeroing, a memset of about 36 MB per DeiT-S forward pass (1.2 MB for each fc1 output alone).
  public init(uninitializedRows rows: Int, cols: Int) {
    precondition(rows >= 0 && cols >= 0, "Matrix(rows: \(rows), cols: \(cols))")
    self.rows = rows
    self.cols = cols
    let count = rows * cols
    // An empty uninitialised array would be written into the stdlib's shared empty storage (a data race under TSan).
    self.data = count == 0 ? [] : [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
  }

  public init(rows: Int, cols: Int, data: [Float]) {
    precondition(data.count == rows * cols, "Matrix \(rows)x\(cols) needs \(rows * cols) values, got \(data.count)")
    self.rows = rows
    self.cols = cols
    self.data = data
  }

  public subscript(row: Int, col: Int) -> Float {
    get { data[row * cols + col] }
    set { data[row * cols + col] = newValue }
  }

  /// One row as an array (for tests and reports, not for hot loops).
  public func row(_ r: Int) -> [Float] { Array(data[(r * cols)..<((r + 1) * cols)]) }

  /// The rows at `indices`, in that order.
  public func gatherRows(_ indices: [Int]) -> Matrix {
    var out = Matrix(rows: indices.count, cols: cols)
    data.withUnsafeBufferPointer { src in
      out.data.withUnsafeMutableBufferPointer { dst in
        for (i, r) in indices.enumerated() {
          precondition(r >= 0 && r < rows, "gatherRows: row \(r) outside 0..<\(rows)")
          (dst.baseAddress! + i &* cols).update(from: src.baseAddress! + r &* cols, count: cols)
        }
      }
    }
    return out
  }
}
