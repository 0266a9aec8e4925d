// Inputs that used to be accepted silently or answered with the wrong message: a write to a missing folder, DVT on a
// model without a classifier, an input size between two multiples of the patch, and files that are not safetensors.
import Foundation
import Testing
import TestSupport

@Suite("Input validation")
struct InputValidationTests {
  @Test func aWriteErrorSaysWrite() throws {
    let r = try tokenscope(["render", modelFixture("vit", "input.png"), "--model", modelFixture("vit", "model.safetensors"),
                            "--out", "/nonexistent-folder/x.png"])
    #expect(r.status == 74, "\(r.stderr)")
    #expect(r.stderr == "tokenscope: cannot write /nonexistent-folder/x.png: No such file or directory\n")
  }

  @Test func dvtOnAHeadlessModelIsRefused() throws {
    let r = try tokenscope(["report", modelFixture("dinov2", "input.png"), "--model", modelFixture("dinov2", "model.safetensors"),
                            "--method", "dvt"])
    #expect(r.status == 64, "\(r.stderr)")
    #expect(r.stderr.contains("dvt: this model has no classifier head"))
  }

  @Test func inputSizesBetweenPatchMultiplesAreRefused() throws {
    let args = ["report", modelFixture("grey_p2", "input.png"), "--model", modelFixture("grey_p2", "model.safetensors")]
    let odd = try tokenscope(args + ["--input-size", "21"])
    #expect(odd.status == 64)
    #expect(odd.stderr.contains("--input-size 21 is not a multiple of the patch size 2; try 20 or 22"), "\(odd.stderr)")
    let even = try tokenscope(args + ["--input-size", "20", "--format", "json"])
    #expect(even.status == 0, "\(even.stderr)")
    #expect(even.json?["grid"] as? [Int] == [10, 10])
  }

  @Test func aPyTorchCheckpointIsNamed() throws {
    let path = NSTemporaryDirectory() + "tokenscope-\(getpid())-model.pth"
    try Data([0x50, 0x4B, 0x03, 0x04] + [UInt8](repeating: 0, count: 60)).write(to: URL(fileURLWithPath: path))
    defer { try? FileManager.default.removeItem(atPath: path) }
    let r = try tokenscope(["inspect", path])
    #expect(r.status == 65)
    #expect(r.stderr.contains("a PyTorch checkpoint (torch.save zip), not safetensors; convert it"), "\(r.stderr)")
  }
}
