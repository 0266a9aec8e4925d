// Paths into the repository, found from this file so that `swift test` and other harnesses read the same files
// from any working directory.

/// The repository's root folder.
public let repositoryRoot: String = {
  var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
  parts.removeLast(3)  // Tests/TestSupport/Fixtures.swift
  return parts.joined(separator: "/")
}()

/// Tests/Fixtures: the models, their expected outputs and the Python that generated them.
public let fixturesDirectory = repositoryRoot + "/Tests/Fixtures"

/// A file of a fixture model: its checkpoint, or e.g. `modelFixture("vit", "expected.safetensors")`.
public func modelFixture(_ model: String, _ file: String = "model.safetensors") -> String {
  "\(fixturesDirectory)/models/\(model)/\(file)"
}
