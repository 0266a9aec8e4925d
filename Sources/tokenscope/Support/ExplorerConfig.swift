// The explorer's settings file: $XDG_CONFIG_HOME/tokenscope/config.toml (~/.config/tokenscope/config.toml when
// XDG_CONFIG_HOME is unset). Every setting is optional; a file that does not parse, or a setting that is wrong, gets
// one line naming the file and the line, and the built-in default.
//
//   methods = ["evit", "tome:r=8"]     # what explore opens with when no --method is given (1-4 specs)
//   theme = "colorblind"               # standard, colorblind or high-contrast
//   graphics = "auto"                  # auto, kitty, sixel, iterm or none
//   play_speed_ms = 300                # milliseconds a block while playing
//   large = true                       # projector mode
//   compute_ahead = false              # do not compute likely next methods while idle (on by default)
//   [keys]
//   quit = "x"                         # an action = one character (next_layer, previous_layer, next_view, ...)
import Explorer
import Foundation
import TOMLKit
import TokenMethods
import TUI

enum ExplorerConfig {
  /// Where the file is looked for.
  static func path(environment: [String: String]) -> String? {
    if let xdg = environment["XDG_CONFIG_HOME"], !xdg.isEmpty { return xdg + "/tokenscope/config.toml" }
    return environment["HOME"].map { $0 + "/.config/tokenscope/config.toml" }
  }

  /// The file's settings, and one line per problem; no file: no settings and no problem.
  static func load(environment: [String: String] = ProcessInfo.processInfo.environment) -> (ExplorerSettings, [String]) {
    guard let path = path(environment: environment), FileManager.default.fileExists(atPath: path) else { return (ExplorerSettings(), []) }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      return (ExplorerSettings(), ["\(path): cannot read it as UTF-8 text; using the built-in defaults"])
    }
    return parse(text, path: path)
  }

  static let topLevel = ["methods", "theme", "graphics", "play_speed_ms", "large", "compute_ahead", "keys"]

  static func parse(_ text: String, path: String) -> (ExplorerSettings, [String]) {
    let table: TOMLTable
    do { table = try TOMLTable(string: text) } catch let error as TOMLParseError {
      return (ExplorerSettings(), ["\(path):\(error.source.begin.line):\(error.source.begin.column): \(error.description); using the built-in defaults"])
    } catch {
      return (ExplorerSettings(), ["\(path): \(error); using the built-in defaults"])
    }
    var settings = ExplorerSettings()
    var problems: [String] = []
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    func problem(_ key: String, table name: String? = nil, _ what: String) {
      problems.append("\(path):\(line(of: key, in: name, lines: lines)): \(what); using the built-in default")
    }
    for key in table.keys where !topLevel.contains(key) {
      problem(key, "unknown setting '\(key)' (the settings are \(topLevel.joined(separator: ", ")))")
    }
    if let value = table["methods"] {
      let specs = value.array.map { array in array.map { $0.string } } ?? []
      if specs.isEmpty || specs.count > 4 || specs.contains(where: { $0 == nil }) {
        problem("methods", "methods must be a list of 1 to 4 method specs, e.g. [\"evit\", \"tome:r=8\"]")
      } else {
        var bad: String? = nil
        for spec in specs.compactMap({ $0 }) where bad == nil {
          do { _ = try MethodSpec.parse(spec) } catch { bad = "methods: \(error)" }
        }
        if let bad { problem("methods", bad) } else { settings.methods = specs.compactMap { $0 } }
      }
    }
    if let value = table["theme"] {
      if let name = value.string, let theme = Theme(rawValue: name) { settings.theme = theme } else {
        problem("theme", "theme must be one of " + Theme.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
      }
    }
    if let value = table["graphics"] {
      if let name = value.string, GraphicsMode(argument: name) != nil { settings.graphics = name } else {
        problem("graphics", "graphics must be \"auto\", \"kitty\", \"sixel\", \"iterm\" or \"none\"")
      }
    }
    if let value = table["play_speed_ms"] {
      if let ms = value.int, (20...10_000).contains(ms) { settings.playIntervalMs = ms } else {
        problem("play_speed_ms", "play_speed_ms must be a whole number of milliseconds from 20 to 10000")
      }
    }
    if let value = table["large"] {
      if let on = value.bool { settings.large = on } else { problem("large", "large must be true or false") }
    }
    if let value = table["compute_ahead"] {
      if let on = value.bool { settings.computeAhead = on } else { problem("compute_ahead", "compute_ahead must be true or false") }
    }
    if let value = table["keys"] {
      guard let keys = value.table else {
        problem("keys", "keys must be a table: [keys] then lines like quit = \"x\"")
        return (settings, problems)
      }
      for name in keys.keys {
        guard let action = BindableAction(rawValue: name) else {
          problem(name, table: "keys", "unknown action '\(name)' (the actions are \(BindableAction.allCases.map(\.rawValue).joined(separator: ", ")))")
          continue
        }
        guard let key = keys[name]?.string, key.count == 1, let character = key.first else {
          problem(name, table: "keys", "\(name) must be one character in quotes, e.g. \(name) = \"x\"")
          continue
        }
        settings.keys[character] = action
      }
    }
    return (settings, problems)
  }

  /// The 1-based line where `key` is set, at the top level or in `[table]` (the first line if it cannot be found).
  static func line(of key: String, in table: String?, lines: [String]) -> Int {
    var current: String? = nil
    for (i, raw) in lines.enumerated() {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("[") {
        current = String(line.dropFirst().prefix { $0 != "]" }).trimmingCharacters(in: .whitespaces)
        if table == nil && current == key { return i + 1 }
        continue
      }
      let name = line.prefix { $0 != "=" }.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\"'"))
      if current == table && name == key && line.contains("=") { return i + 1 }
    }
    return 1
  }
}
