// `tokenscope render`: files that decode to the reported size, SVG that parses, atomic writes, and usage errors.
import Foundation
import Testing
import TestSupport

#if canImport(FoundationXML)
import FoundationXML
#endif

@Suite("tokenscope render")
struct RenderTests {
  let directory: String = {
    let d = NSTemporaryDirectory() + "tokenscope-render-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    try? FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
    return d
  }()

  func render(_ extra: [String]) throws -> RunResult {
    try tokenscope(["render", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2"),
                    "--preprocess", "none"] + extra)
  }

  @Test func pngHasTheReportedSizeAndSVGParses() throws {
    let png = directory + "/fig.png", svg = directory + "/fig.svg"
    let r = try render(["--method", "tome:r=4", "--method", "evit:keep=0.5,layers=1", "--layers", "all", "--view", "groups",
                        "--scale", "5", "--out", png])
    #expect(r.status == 0, "\(r.stderr)")
    // "wrote PATH (WxH, ...)": the PNG's IHDR must say the same size.
    let size = try #require(r.stdout.split(separator: "(").dropFirst().first?.split(separator: ",").first)
    let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png)))
    #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    func be32(_ o: Int) -> Int { bytes[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
    #expect("\(be32(16))x\(be32(20))" == String(size))
    #expect(be32(16) > 4 * 12 * 5, "an input column and three block columns of 60 px maps")

    let s = try render(["--method", "idle:keep=0.5,layers=0-2", "--view", "status", "--out", svg])
    #expect(s.status == 0, "\(s.stderr)")
    let text = try String(contentsOfFile: svg, encoding: .utf8)
    #expect(XMLParser(data: Data(text.utf8)).parse())
    #expect(text.contains(">idle:keep=0.5,layers=0-2 "))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "no temporary files left behind")
  }

  /// The annotation views end to end: each method's decision drawn where it was made, the title naming the view.
  @Test(arguments: [("pitome:ratio=0.7,bsm=none", "score"), ("visionzip:dominant=9,contextual=3,layer=1", "roles"),
                    ("atc:keep=0.6,layers=1", "clusters")])
  func annotationViews(method: String, view: String) throws {
    let out = directory + "/\(view).png"
    let r = try render(["--method", method, "--layers", "1", "--view", view, "--out", out])
    #expect(r.status == 0 && r.stdout.contains("\(view) view"), "\(r.stderr)")
    #expect(FileManager.default.fileExists(atPath: out))
  }

  @Test func badRequestsAreUsageErrors() throws {
    let out = directory + "/x.png"
    for (args, needle) in [(["--layers", "7", "--out", out], "block 7"), (["--layers", "a", "--out", out], "--layers"),
                           (["--out", directory + "/x.gif"], "--out"), (["--view", "fancy", "--out", out], "--view"),
                           (["--method", "nope", "--out", out], "nope")] {
      let r = try render(args)
      #expect(r.status == 64, "\(args): \(r.stderr)")
      #expect(r.stderr.contains(needle), "\(args): \(r.stderr)")
    }
    let unwritable = try render(["--out", "/nonexistent-dir/x.png"])
    #expect(unwritable.status == 74, "\(unwritable.stderr)")
    #expect(unwritable.stderr.contains("/nonexistent-dir/x.png"))
  }
}
