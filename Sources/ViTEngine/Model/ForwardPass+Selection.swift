// The projections of a block whose policy selects tokens (the `select` phase, IdleViT): every token's key, because
// the selection scores all of them, and the prefix queries that score them; then, once the selection is known, queries
// and values for the selected tokens only. Idle tokens cost LayerNorm 1 and their key, which is what the method's
// `extraMACs` counts, so the work executed is the work reported.
//
// Shape legend: N tokens in, P prefix tokens, S selected tokens (prefix included), C embedding width, A = H·d.
//   normalized y: N x C;  keys: N x A;  prefix queries: P x A;  remaining queries: (S - selected prefix) x A;
//   values: S x A;  returned qkv: S x 3A, [q | k | v] per selected token, in selection order.

extension ForwardPass {
  func selectiveProjections(_ block: BlockWeights, index: Int, state: TokenState, normalized y: Matrix,
                            clock: inout OpClock) -> (qkv: Matrix, selection: TokenSelection?) {
    let a = block.attentionWidth, n = y.rows, c = y.cols, prefix = state.prefixCount
    var keys = block.qkv(y, columns: a..<(2 * a))
    let prefixQueries = block.qkv(Matrix(rows: prefix, cols: c, data: Array(y.data[0..<(prefix * c)])), columns: 0..<a)
    clock.lap("qkv")
    rotate(&keys, tokens: nil, state: state, columns: [0], block: block)  // prefix queries are never rotated
    clock.lap("rope")
    let selection = prefixQueries.data.withUnsafeBufferPointer { q in
      keys.data.withUnsafeBufferPointer { k in
        policy.select(block: index, state: state, projections: ProjectionView(
          heads: block.heads, headDim: block.headDim, tokens: n, queries: q.baseAddress!, ldq: a, queryCount: prefix,
          keys: k.baseAddress!, ldk: a))
      }
    }
    clock.lap("policy")
    let tokens = selection?.tokens ?? Array(0..<n)
    let others = tokens.filter { $0 >= prefix }  // prefix queries are already projected
    var otherQueries = block.qkv(y.gatherRows(others), columns: 0..<a)
    rotate(&otherQueries, tokens: others, state: state, columns: [0], block: block)
    let values = block.qkv(y.gatherRows(tokens), columns: (2 * a)..<(3 * a))
    var qkv = Matrix(uninitializedRows: tokens.count, cols: 3 * a)
    qkv.data.withUnsafeMutableBufferPointer { out in
      prefixQueries.data.withUnsafeBufferPointer { pq in
        otherQueries.data.withUnsafeBufferPointer { oq in
          keys.data.withUnsafeBufferPointer { k in
            values.data.withUnsafeBufferPointer { v in
              var nextOther = 0
              for (row, t) in tokens.enumerated() {
                let dst = out.baseAddress! + row &* 3 &* a
                if t < prefix {
                  dst.update(from: pq.baseAddress! + t &* a, count: a)
                } else {
                  dst.update(from: oq.baseAddress! + nextOther &* a, count: a)
                  nextOther &+= 1
                }
                (dst + a).update(from: k.baseAddress! + t &* a, count: a)
                (dst + 2 &* a).update(from: v.baseAddress! + row &* a, count: a)
              }
            }
          }
        }
      }
    }
    clock.lap("qkv")
    return (qkv, selection)
  }
}
