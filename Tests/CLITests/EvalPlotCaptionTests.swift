// The trade-off chart says what DVT's line is (one model at three grids, not DVT's three trained models) whenever a
// cascade is on it, and carries no caption otherwise.
import Foundation
import Testing
import TestSupport

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("tokenscope eval --plot caption")
struct EvalPlotCaptionTests {
  @Test func dvtCaveatUnderTheChart() throws {
    let dir = try temporaryDirectory("caption")
    let images = (0..<4).map { i in (0..<144).map { (p: Int) -> UInt8 in UInt8((p * 5 + i * 17) % 256) } }
    try writeIDX(directory: dir, prefix: "t10k", images: images, side: 12, labels: [0, 1, 2, 3])
    let caveat = "DVT here is one model run at three grids (the real DVT trains three models, one per resolution)."
    for (methods, captioned) in [(["dvt"], true), (["tome"], false)] {
      let plot = "\(dir)/\(methods[0]).svg"
      let r = try tokenscope(["eval", "--data", dir, "--model", modelFixture("grey_p2", "model.safetensors"), "--sweep",
                              "--plot", plot] + methods.flatMap { ["--method", $0] })
      #expect(r.status == 0, "\(r.stderr)")
      let svg = try String(contentsOfFile: plot, encoding: .utf8)
      #expect(XMLParser(data: Data(svg.utf8)).parse())
      #expect(svg.contains(">\(caveat)</text>") == captioned, "\(methods): caption \(captioned ? "present" : "absent")")
    }
    let help = try tokenscope(["eval", "--help"])
    #expect(help.stdout.replacingOccurrences(of: "\n", with: " ").contains(caveat), "the --sweep summary says it too")
  }
}
