// swift-tools-version:5.9
// The Swift package of Insikt: the generated Swift bindings and a small facade
// (Sources/Insikt) over the XCFramework that build-xcframework.sh makes
// (InsiktFFI.xcframework: libinsikt_ffi.a for devices and simulators, with the C
// header and module map of the InsiktFFI module).
//
// For distribution, replace the path with the URL and checksum of a released
// XCFramework zip:
//   .binaryTarget(name: "InsiktFFI", url: "https://…/InsiktFFI.xcframework.zip", checksum: "…")
import PackageDescription

let package = Package(
    name: "Insikt",
    platforms: [.iOS(.v15), .macOS(.v12)],
    products: [
        .library(name: "Insikt", targets: ["Insikt"]),
    ],
    targets: [
        .binaryTarget(name: "InsiktFFI", path: "InsiktFFI.xcframework"),
        .target(
            name: "Insikt",
            dependencies: ["InsiktFFI"],
            path: "Sources/Insikt"
        ),
    ]
)
