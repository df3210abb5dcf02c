namespace Pdp.Rego.Tests.Builtins;

/// <summary>json.filter, json.remove, json.patch.</summary>
public sealed class MoreDocumentTests : MoreBuiltinTestBase
{
    [Test]
    public void Filter()
    {
        Assert.That(Json("json.filter", "{\"a\": [{\"b\": 7, \"c\": 8}, {\"d\": 9}]}", "[\"a/0/b\", \"a/1\"]"), Is.EqualTo("{\"a\":[{\"b\":7},{\"d\":9}]}"));
        Assert.That(Json("json.filter", "{\"a\": {\"b\": {\"c\": 7, \"d\": 8, \"x\": 0}}, \"e\": 9}", "[\"a/b/d\", [\"a\", \"b\", \"c\"]]"), Is.EqualTo("{\"a\":{\"b\":{\"c\":7,\"d\":8}}}"));
        // A shorter path keeps the whole subtree, whatever the order.
        Assert.That(Json("json.filter", "{\"a\": {\"b\": 1, \"c\": 2}}", "[\"a/b\", \"/a\"]"), Is.EqualTo("{\"a\":{\"b\":1,\"c\":2}}"));
        Assert.That(Json("json.filter", "{\"a/b\": 1, \"a\": {\"b\": 2}}", "[\"a~1b\"]"), Is.EqualTo("{\"a/b\":1}"));
    }

    [Test]
    public void Remove()
    {
        Assert.That(Json("json.remove", "{\"a\": {\"b\": {\"c\": 7, \"d\": 8, \"x\": 0}}, \"e\": 9}", "[\"a/b/d\", [\"a\", \"b\", \"c\"]]"), Is.EqualTo("{\"a\":{\"b\":{\"x\":0}},\"e\":9}"));
        Assert.That(Json("json.remove", "{\"a\": [{\"b\": 7, \"c\": 8}, {\"d\": 9}]}", "[\"a/0/b\", \"a/1\"]"), Is.EqualTo("{\"a\":[{\"c\":8}]}"));
        Assert.That(Json("json.remove", "{\"a\": {\"b\": 7}, \"c\": 1}", "[\"a\", \"c\"]"), Is.EqualTo("{}"));
    }

    [Test]
    public void RemoveTypeErrors()
    {
        Assert.That(Fails("json.remove", "[]", "[\"a\"]").Message, Is.EqualTo("json.remove: operand 1 must be object but got array"));
        Assert.That(Fails("json.remove", "{}", "1").Message, Is.EqualTo("json.remove: operand 2 must be one of {set, array} but got number"));
        var e = Fails("json.remove", "{}", "[{\"a\": 1}]");
        Assert.That(e.Code, Is.EqualTo("eval_type_error"));
        Assert.That(e.Message, Is.EqualTo("json.remove: operand 2 must be one of {set, array} containing string paths or array of path segments but got object"));
    }

    [TestCase("{\"foo\": \"bar\"}", "[{\"op\": \"add\", \"path\": \"/baz\", \"value\": \"qux\"}]", "{\"baz\":\"qux\",\"foo\":\"bar\"}")]
    [TestCase("{\"a\": [1, 3]}", "[{\"op\": \"add\", \"path\": \"/a/1\", \"value\": 2}]", "{\"a\":[1,2,3]}")]
    [TestCase("{\"a\": [1]}", "[{\"op\": \"add\", \"path\": \"/a/-\", \"value\": 2}]", "{\"a\":[1,2]}")]
    [TestCase("{\"a\": [1, 2]}", "[{\"op\": \"remove\", \"path\": \"/a/0\"}]", "{\"a\":[2]}")]
    [TestCase("{\"a\": 1}", "[{\"op\": \"replace\", \"path\": \"/a\", \"value\": 2}]", "{\"a\":2}")]
    [TestCase("{\"a\": [1, 2]}", "[{\"op\": \"move\", \"from\": \"/a/0\", \"path\": \"/a/-\"}]", "{\"a\":[2,1]}")]
    [TestCase("{\"a\": {\"b\": 1}}", "[{\"op\": \"copy\", \"from\": \"/a\", \"path\": \"/c\"}]", "{\"a\":{\"b\":1},\"c\":{\"b\":1}}")]
    [TestCase("{\"a\": 1}", "[{\"op\": \"test\", \"path\": \"/a\", \"value\": 1}]", "{\"a\":1}")]
    [TestCase("{\"a\": 1}", "[{\"op\": \"test\", \"path\": \"/a\", \"value\": 2}]", "undefined")]
    [TestCase("{\"q\": {}}", "[{\"op\": \"add\", \"path\": \"/a/b\", \"value\": 1}]", "undefined")]
    [TestCase("[1, 2, 3]", "[{\"op\": \"add\", \"path\": \"1.2\", \"value\": \"foo\"}]", "undefined")]
    [TestCase("{\"a\": [1]}", "[{\"op\": \"add\", \"path\": \"/a/5\", \"value\": 2}]", "undefined")]
    [TestCase("{\"a\": 1}", "[{\"op\": \"replace\", \"path\": \"\", \"value\": 5}]", "5")]
    [TestCase("{\"a\": 1}", "[{\"op\": \"add\", \"path\": [\"b\"], \"value\": 2}]", "{\"a\":1,\"b\":2}")]
    public void Patch(string doc, string patch, string expected) => Assert.That(Json("json.patch", doc, patch), Is.EqualTo(expected));

    [Test]
    public void PatchWithUnknownOpIsAnError() => Assert.That(Fails("json.patch", "{}", "[{\"op\": \"frob\", \"path\": \"/a\"}]").Code, Is.EqualTo("eval_builtin_error"));
}
