// The `:` command line: a full method spec, a compare slot added or removed, an image opened, a block or view
// chosen, without cycling through presets. Tab completes command names, method names and paths; ↑/↓ walk the
// history of this session's commands.
import Foundation
import TokenMethods

/// One parsed command.
public enum ExplorerCommand: Equatable, Sendable {
  case method(MethodSpec)
  case add(MethodSpec)
  case remove(Int)
  case open(String)
  case layer(Int)
  case view(TokenMapView)
  case head(Int?)
  case scale(AttentionScale)
  case size(Int)
  case maps(String)

  /// The commands with their arguments, as the help and the completion show them.
  public static let usage: [(name: String, argument: String, help: String)] = [
    ("method", "SPEC", "the focused method, e.g. tome:r=8,schedule=linear"),
    ("add", "SPEC", "another method side by side (up to 4)"),
    ("remove", "N", "take method N off the screen"),
    ("open", "PATH", "open an image (~ and Tab completion work)"),
    ("block", "N", "go to block N (0-based)"),
    ("view", "NAME", "status, image, groups, attention, ..."),
    ("head", "N|mean", "the attention head (1-based) or the mean of heads"),
    ("scale", "linear|log|percentile", "the attention view's colour scale"),
    ("size", "N", "run the model at N x N pixels (a multiple of the patch size)"),
    ("maps", "PATH", "dataset maps (eval --maps DIR: DIR or its maps.json) beside the image's on the plots page"),
  ]

  /// Parses `text` (without the colon); the error is the line the footer shows.
  public static func parse(_ text: String, depth: Int) -> Result<ExplorerCommand, CommandError> {
    let trimmed = text.trimmingCharacters(in: .whitespaces)
    let name = trimmed.prefix { $0 != " " }
    let argument = trimmed.dropFirst(name.count).trimmingCharacters(in: .whitespaces)
    func spec() -> Result<MethodSpec, CommandError> {
      do { return .success(try MethodSpec.parse(argument)) } catch { return .failure(CommandError("\(error)")) }
    }
    func needs(_ what: String) -> CommandError { CommandError(":\(name) needs \(what)") }
    switch name {
    case "method", "m":
      guard !argument.isEmpty else { return .failure(needs("a method spec, e.g. :method tome:r=8")) }
      return spec().map { .method($0) }
    case "add", "a":
      guard !argument.isEmpty else { return .failure(needs("a method spec, e.g. :add evit:keep=0.5")) }
      return spec().map { .add($0) }
    case "remove", "rm":
      guard let n = Int(argument), n >= 1 else { return .failure(needs("a method number, 1-4")) }
      return .success(.remove(n))
    case "open", "o", "e", "edit":
      guard !argument.isEmpty else { return .failure(needs("an image path")) }
      return .success(.open(expandingTilde(argument)))
    case "block", "layer", "b":
      guard let n = Int(argument), n >= 0, n < depth else { return .failure(needs("a block number from 0 to \(depth - 1)")) }
      return .success(.layer(n))
    case "view", "v":
      guard let view = TokenMapView(rawValue: argument) else {
        return .failure(needs("one of " + TokenMapView.allCases.map(\.rawValue).joined(separator: ", ")))
      }
      return .success(.view(view))
    case "head", "h":
      if argument == "mean" { return .success(.head(nil)) }
      guard let n = Int(argument), n >= 1 else { return .failure(needs("a head number from 1, or mean")) }
      return .success(.head(n - 1))
    case "scale":
      guard let scale = AttentionScale(rawValue: argument) else { return .failure(needs("linear, log or percentile")) }
      return .success(.scale(scale))
    case "size", "s":
      guard let n = Int(argument), n > 0 else { return .failure(needs("an input size in pixels, e.g. :size 224")) }
      return .success(.size(n))
    case "maps":
      guard !argument.isEmpty else { return .failure(needs("a maps.json (eval --maps DIR writes DIR/maps.json)")) }
      return .success(.maps(expandingTilde(argument)))
    default:
      return .failure(CommandError("unknown command :\(name); the commands are " + usage.map(\.name).joined(separator: ", ")))
    }
  }

  /// `text` with its last word completed as far as it is unambiguous: a command name, a method name (after method
  /// or add), a view name, or a path (after open). `files` lists a directory (injected so that tests need no disk).
  public static func complete(_ text: String, files: (String) -> [String] = listDirectory) -> String {
    let words = text.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    guard let last = words.last else { return text }
    let head = words.dropLast().joined(separator: " ") + (words.count > 1 ? " " : "")
    let candidates: [String]
    if words.count == 1 {
      candidates = usage.map(\.name)
    } else {
      switch words[0] {
      case "method", "m", "add", "a": candidates = last.contains(":") ? [] : MethodRegistry.names
      case "view", "v": candidates = TokenMapView.allCases.map(\.rawValue)
      case "scale": candidates = AttentionScale.allCases.map(\.rawValue)
      case "open", "o", "e", "edit", "maps":
        // Paths: the directory part stays as typed, the entries of that directory complete the rest.
        let expanded = expandingTilde(last)
        let slash = expanded.lastIndex(of: "/")
        let directory = slash.map { String(expanded[...$0]) } ?? ""
        let typedDirectory = last.lastIndex(of: "/").map { String(last[...$0]) } ?? ""
        let entries = files(directory.isEmpty ? "." : directory)
        let prefix = slash.map { String(expanded[expanded.index(after: $0)...]) } ?? expanded
        let matches = entries.filter { $0.hasPrefix(prefix) && (!$0.hasPrefix(".") || prefix.hasPrefix(".")) }
        guard let common = commonPrefix(matches), common.count >= prefix.count else { return text }
        return head + typedDirectory + common
      default: candidates = []
      }
    }
    let matches = candidates.filter { $0.hasPrefix(last) }
    guard let common = commonPrefix(matches) else { return text }
    return head + common + (matches.count == 1 && words.count == 1 ? " " : "")
  }

  /// The entries of `directory`, directories with a trailing "/".
  public static func listDirectory(_ directory: String) -> [String] {
    let manager = FileManager.default
    guard let names = try? manager.contentsOfDirectory(atPath: directory) else { return [] }
    return names.sorted().map { name in
      var isDirectory: ObjCBool = false
      let path = (directory.hasSuffix("/") ? directory : directory + "/") + name
      return manager.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue ? name + "/" : name
    }
  }
}

public struct CommandError: Error, Equatable, Sendable {
  public let message: String
  init(_ message: String) { self.message = message }
}

/// "~" and "~/..." are the home directory.
func expandingTilde(_ path: String) -> String {
  guard path == "~" || path.hasPrefix("~/"), let home = ProcessInfo.processInfo.environment["HOME"] else { return path }
  return home + path.dropFirst()
}

private func commonPrefix(_ words: [String]) -> String? {
  guard var prefix = words.first else { return nil }
  for word in words.dropFirst() {
    while !word.hasPrefix(prefix) { prefix.removeLast() }
  }
  return prefix
}

/// Applies a parsed command to the state (the effects follow from the state, as for keys).
func apply(_ command: ExplorerCommand, to state: inout ExplorerState) -> [Effect] {
  switch command {
  case .method(let spec): state.methods[state.focus] = spec
  case .add(let spec):
    guard state.methods.count < 4 else { state.message = "four methods are on screen; :remove one first"; return [] }
    state.methods.append(spec)
    state.focus = state.methods.count - 1
    state.compare = true
  case .remove(let n):
    guard n <= state.methods.count else { state.message = "there is no method \(n) (1-\(state.methods.count))"; return [] }
    guard state.methods.count > 1 else { state.message = "the last method stays; :method SPEC changes it"; return [] }
    state.methods.remove(at: n - 1)
    state.focus = min(state.focus, state.methods.count - 1)
    if state.methods.count == 1 { state.compare = false }
  case .open(let path):
    state.message = "opening \(path)"
    return [.openImage(path)]
  case .layer(let n): state.layer = n
  case .view(let view): state.view = view
  case .head(let head): state.head = head.map { min($0, max(0, state.context.heads - 1)) }
  case .scale(let scale): state.attentionScale = scale
  case .size(let n):
    state.message = "running at \(n) px"
    return [.setInputSize(path: state.context.imageName, size: n)]
  case .maps(let path):
    state.message = "reading \(path)"
    return [.loadMaps(path)]
  }
  return []
}
