// The attention view with the cursor's token as the query. PatchAttention maps any query row onto the patches; its
// row 0 is CLS's, which MethodRun already maps on its own (classAttention), so the two must agree for every method,
// including those that idle tokens or cluster keys.
import Testing
@testable import Explorer
import TestSupport
@testable import TokenMethods
import TUI

@Suite("Attention with another query")
struct QueryAttentionTests {
  @Test(arguments: ["none", "tome:r=4", "evit:keep=0.5,layers=1/2", "idle:keep=0.5,layers=1-2", "clustr:clusters=8,k=5,layers=all"])
  func rowZeroIsTheCLSMap(method: String) throws {
    let state = try fixtureState(methods: [method])
    let run = try #require(state.focusedRun)
    for layer in run.layers {
      let attention = try #require(layer.patchAttention)
      for h in 0..<attention.heads {
        let mapped = attention.map(queryRow: 0, head: h)
        #expect(zip(mapped, layer.classAttention[h]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(method) block \(layer.index) head \(h)")
      }
    }
  }

  @Test func theCursorBecomesTheQuery() throws {
    var state = try fixtureState(methods: ["none"])
    state.view = .attention
    let layer = try #require(state.focusedRun?.layers[0])
    // Without reduction the patch's token is 1 + the patch: its row, and each row sums to one with CLS's column.
    let attention = try #require(layer.patchAttention)
    let row = try #require(attention.map(query: 7, head: 0))
    #expect(row == attention.map(queryRow: 8, head: 0))
    #expect(row.reduce(0, +) < 1 && row.reduce(0, +) > 0)
    #expect(action(for: .char("A"), state: state).map { "\($0)" } == "toggleQuery")
    _ = update(&state, .toggleQuery)
    #expect(state.cursor != nil, "the query needs a cursor: it starts at the centre")
    _ = update(&state, .clickPatch(row: 1, col: 1))
    let text = screen(state, 120, 40).lines.joined(separator: "\n")
    #expect(text.contains("query patch (1,1)'s token, mean of 2 heads"))
    let shown = try #require(state.attentionMap(layer, run: state.focusedRun!).values)
    #expect(shown == attention.map(query: 7, head: nil))
    _ = update(&state, .toggleQuery)
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("query CLS"))
  }

  /// IdleViT: an idle token asks no query, and the view says so.
  @Test func anIdleTokenAsksNoQuery() throws {
    var state = try fixtureState(methods: ["idle:keep=0.5,layers=1-2"])
    state.view = .attention
    state.layer = 1
    let run = try #require(state.focusedRun)
    let attention = try #require(run.layers[1].patchAttention)
    let idle = try #require((0..<36).first { attention.map(query: $0, head: nil) == nil })
    _ = update(&state, .toggleQuery)
    _ = update(&state, .clickPatch(row: idle / 6, col: idle % 6))
    #expect(screen(state, 120, 40).lines.joined(separator: "\n").contains("it asks no query here"))
  }
}
