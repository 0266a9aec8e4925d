// One error type for the command line: a one-line message and a sysexits code.
import ArgumentParser
import ImageIO
import TokenMethods
import ViTEngine

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#elseif canImport(Darwin)
@preconcurrency import Darwin
#endif

struct CLIError: Error, CustomStringConvertible {
  let message: String
  let code: Int32
  var description: String { message }

  static let usage: Int32 = 64, badData: Int32 = 65, noInput: Int32 = 66, unsupportedCPU: Int32 = 69, ioError: Int32 = 74

  init(_ message: String, code: Int32) { self.message = message; self.code = code }

  init(_ error: CheckpointError) { self.init(error.description, code: error.exitCode) }
  init(_ error: ImageError) { self.init(error.description, code: error.isMissingFile ? CLIError.noInput : CLIError.badData) }
  init(_ error: MethodSpecError) { self.init(error.description, code: CLIError.usage) }
}

/// Runs a command body, turning known errors into "tokenscope: message" on stderr and the matching exit code.
func reportingErrors(_ body: () throws -> Void) throws {
  do {
    try body()
  } catch let error as CLIError {
    printError(error.message)
    throw ExitCode(error.code)
  } catch let error as CheckpointError {
    printError(error.description)
    throw ExitCode(error.exitCode)
  } catch let error as ImageError {
    printError(error.description)
    throw ExitCode(error.isMissingFile ? CLIError.noInput : CLIError.badData)
  } catch let error as MethodSpecError {
    printError(error.description)
    throw ExitCode(CLIError.usage)
  }
}

func printError(_ message: String) {
  fputs("tokenscope: \(message)\n", stderr)
}

/// Writes to stdout; a closed pipe (e.g. `| head`) is not an error worth a trace.
func emit(_ text: String) {
  print(text)
}
