import FileAccess
import Testing

@Suite("PathText: path arithmetic without Foundation")
struct PathTextTests {
    @Test(
        "directory, last component, extension",
        arguments: [
            ("p", ".", "p", "p"), ("x.yaml", ".", "x.yaml", "x"), (".", ".", ".", "."), ("-", ".", "-", "-"),
            ("/p", "/", "p", "p"), ("/", "/", "/", "/"), ("a/b.json", "a", "b.json", "b"), ("a/b/", "a", "b", "b"),
            ("a//b", "a", "b", "b"), ("../r.json", "..", "r.json", "r"), (".hidden", ".", ".hidden", ".hidden"),
            ("", ".", "", ""),
        ])
    func split(path: String, directory: String, last: String, stem: String) {
        #expect(PathText.directory(of: path) == directory)
        #expect(PathText.lastComponent(path) == last)
        #expect(PathText.deletingExtension(PathText.lastComponent(path)) == stem)
    }

    @Test("joining, and names safe as one file-name component")
    func join() {
        #expect(PathText.appending("x.csv", to: "profiles") == "profiles/x.csv")
        #expect(PathText.appending("x.csv", to: ".") == "x.csv")
        #expect(PathText.appending("/abs", to: "profiles") == "/abs")
        #expect(PathText.appending("x", to: "/") == "/x")
        #expect(PathText.safeComponent("../../etc/passwd") == "-..-etc-passwd")
        #expect(PathText.safeComponent("fashion-mnist_mlp.v2") == "fashion-mnist_mlp.v2")
        #expect(PathText.safeComponent("\u{1B}[31m") == "--31m")
        #expect(PathText.safeComponent("...") == "unnamed")
    }
}
