// The explorer's settings file: each setting read, and each mistake reported with the file's line and the built-in
// default kept. The last test runs the binary with XDG_CONFIG_HOME pointing at a bad file.
import Explorer
import Foundation
import Testing
import TestSupport
@testable import tokenscope

@Suite("Explorer settings file")
struct ExplorerConfigTests {
  @Test func readsEverySetting() {
    let text = """
      methods = ["evit", "tome:r=8"]
      theme = "colorblind"
      graphics = "none"
      play_speed_ms = 300
      large = true
      compute_ahead = false

      [keys]
      quit = "x"
      next_layer = "w"
      """
    let (settings, problems) = ExplorerConfig.parse(text, path: "config.toml")
    #expect(problems.isEmpty, "\(problems)")
    #expect(settings.methods == ["evit", "tome:r=8"] && settings.theme == .colorblind && settings.graphics == "none")
    #expect(settings.playIntervalMs == 300 && settings.large == true && settings.computeAhead == false)
    #expect(settings.keys == ["x": .quit, "w": .nextLayer])
  }

  @Test func mistakesNameTheirLine() {
    let text = """
      # tokenscope
      theme = "sepia"
      play_speed_ms = 5
      methods = ["tome:r=x"]
      colour = 3
      compute_ahead = "soon"
      [keys]
      quit = "xy"
      fly = "f"
      """
    let (settings, problems) = ExplorerConfig.parse(text, path: "c.toml")
    #expect(settings == ExplorerSettings(), "every wrong setting keeps its default")
    #expect(problems.count == 7, "\(problems)")
    #expect(problems.contains { $0.hasPrefix("c.toml:2: theme must be one of \"standard\", \"colorblind\", \"high-contrast\"") })
    #expect(problems.contains { $0.hasPrefix("c.toml:3: play_speed_ms must be") })
    #expect(problems.contains { $0.hasPrefix("c.toml:4: methods: ") && $0.contains("tome") })
    #expect(problems.contains { $0.hasPrefix("c.toml:5: unknown setting 'colour'") })
    #expect(problems.contains { $0.hasPrefix("c.toml:6: compute_ahead must be true or false") })
    #expect(problems.contains { $0.hasPrefix("c.toml:8: quit must be one character") })
    #expect(problems.contains { $0.hasPrefix("c.toml:9: unknown action 'fly'") })
    #expect(problems.allSatisfy { $0.hasSuffix("using the built-in default") })
  }

  @Test func aFileThatDoesNotParseGivesItsLineAndTheDefaults() {
    let (settings, problems) = ExplorerConfig.parse("theme = \"colorblind\"\nlarge = \n", path: "c.toml")
    #expect(settings == ExplorerSettings())
    #expect(problems.count == 1 && problems[0].hasPrefix("c.toml:2:") && problems[0].hasSuffix("using the built-in defaults"), "\(problems)")
  }

  @Test func settingsReachTheState() throws {
    var settings = ExplorerSettings()
    settings.theme = .highContrast
    settings.playIntervalMs = 150
    settings.keys = ["x": .quit]
    var state = ExplorerState(context: ExplorerContext(modelName: "m", modelSummary: "", imageName: "i", preprocessing: "",
                                                       image: .init(width: 2, height: 2, channels: 3), depth: 2, grid: (1, 1), heads: 1),
                              methods: [])
    settings.apply(to: &state)
    #expect(state.theme == .highContrast && state.playIntervalMs == 150)
    #expect(action(for: .char("x"), state: state).map { "\($0)" } == "quit")
  }

  /// The binary reads $XDG_CONFIG_HOME/tokenscope/config.toml before anything else and reports its problems on
  /// stderr (here it then stops: no terminal).
  @Test func theBinaryReportsABadFile() throws {
    let home = NSTemporaryDirectory() + "tokenscope-config-\(getpid())"
    try FileManager.default.createDirectory(atPath: home + "/tokenscope", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: home) }
    try "large = yes\n".write(toFile: home + "/tokenscope/config.toml", atomically: true, encoding: .utf8)
    var environment = ProcessInfo.processInfo.environment
    environment["XDG_CONFIG_HOME"] = home
    let r = try tokenscope(["explore"], environment: environment)
    #expect(r.stderr.contains("tokenscope: \(home)/tokenscope/config.toml:1:"), "\(r.stderr)")
    #expect(r.stderr.contains("using the built-in defaults"))
    #expect(r.status == 64, "then the usual answer without a terminal")
  }
}
