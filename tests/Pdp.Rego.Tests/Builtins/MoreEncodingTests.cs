namespace Pdp.Rego.Tests.Builtins;

/// <summary>base64, hex, urlquery, json and yaml encodings.</summary>
public sealed class MoreEncodingTests : MoreBuiltinTestBase
{
    [Test]
    public void Base64()
    {
        Assert.That(Json("base64.encode", Q("hello")), Is.EqualTo(Q("aGVsbG8=")));
        Assert.That(Json("base64.decode", Q("aGVsbG8=")), Is.EqualTo(Q("hello")));
        Assert.That(Json("base64.is_valid", Q("aGVsbG8=")), Is.EqualTo("true"));
        Assert.That(Json("base64.is_valid", Q("aGVsbG8")), Is.EqualTo("false")); // padding required
        Assert.That(Json("base64.is_valid", Q("aGV$bG8=")), Is.EqualTo("false"));
        Assert.That(Fails("base64.decode", Q("aGVsbG8")).Message, Does.StartWith("base64.decode: illegal base64 data at input byte"));
    }

    [Test]
    public void Base64Url()
    {
        Assert.That(Json("base64url.encode", Q("hello?>")), Is.EqualTo(Q("aGVsbG8_Pg==")));
        Assert.That(Json("base64url.encode_no_pad", Q("hello?>")), Is.EqualTo(Q("aGVsbG8_Pg")));
        Assert.That(Json("base64url.decode", Q("aGVsbG8_Pg==")), Is.EqualTo(Q("hello?>")));
        Assert.That(Json("base64url.decode", Q("aGVsbG8_Pg")), Is.EqualTo(Q("hello?>")));
        Assert.That(Fails("base64url.decode", Q("a")).Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void Hex()
    {
        Assert.That(Json("hex.encode", Q("hello")), Is.EqualTo(Q("68656c6c6f")));
        Assert.That(Json("hex.decode", Q("68656C6c6f")), Is.EqualTo(Q("hello")));
        Assert.That(Fails("hex.decode", Q("6g")).Message, Is.EqualTo("hex.decode: encoding/hex: invalid byte: U+0067 'g'"));
        Assert.That(Fails("hex.decode", Q("686")).Message, Does.Contain("odd length"));
    }

    [Test]
    public void UrlQuery()
    {
        Assert.That(Json("urlquery.encode", Q("a=b+1 ü~")), Is.EqualTo(Q("a%3Db%2B1+%C3%BC~")));
        Assert.That(Json("urlquery.decode", Q("a%3Db%2B1+x")), Is.EqualTo(Q("a=b+1 x")));
        Assert.That(Fails("urlquery.decode", Q("%zz")).Message, Is.EqualTo("urlquery.decode: invalid URL escape \"%zz\""));
        Assert.That(Json("urlquery.encode_object", "{\"c\": \"d\", \"a\": [\"b+1\", \"c+2\"]}"), Is.EqualTo(Q("a=b%2B1&a=c%2B2&c=d")));
        Assert.That(Json("urlquery.decode_object", Q("a=1&a=2&b=x%20y&c")), Is.EqualTo("{\"a\":[\"1\",\"2\"],\"b\":[\"x y\"],\"c\":[\"\"]}"));
    }

    [Test]
    public void JsonMarshalAsGo()
    {
        Assert.That(Call("json.marshal", "[{\"foo\": [1, 2, 3], \"a<\": \"x&y\", \"f\": 1.5}]")!.ToString(),
            Is.EqualTo(Q("[{\"a\\u003c\":\"x\\u0026y\",\"f\":1.5,\"foo\":[1,2,3]}]")));
        Assert.That(Json("json.marshal_with_options", "{\"a\": [1], \"c\": {}}", "{\"indent\": \"  \"}"),
            Is.EqualTo(Q("{\n  \"a\": [\n    1\n  ],\n  \"c\": {}\n}")));
        Assert.That(Json("json.marshal_with_options", "{\"a\": 1}", "{\"pretty\": false, \"indent\": \"  \"}"), Is.EqualTo(Q("{\"a\":1}")));
        Assert.That(Fails("json.marshal_with_options", "1", "{\"bogus\": 1}").Code, Is.EqualTo("eval_builtin_error"));
    }

    [Test]
    public void JsonUnmarshalAndIsValid()
    {
        Assert.That(Json("json.unmarshal", Q("{\"a\": [1, 2.5, null, true]}")), Is.EqualTo("{\"a\":[1,2.5,null,true]}"));
        Assert.That(Fails("json.unmarshal", Q("{")).Code, Is.EqualTo("eval_builtin_error"));
        Assert.That(Json("json.is_valid", Q("{\"json\": \"ok\"}")), Is.EqualTo("true"));
        Assert.That(Json("json.is_valid", Q("plainstring")), Is.EqualTo("false"));
        Assert.That(Json("json.is_valid", Q("[1] // comment")), Is.EqualTo("false"));
        Assert.That(Json("json.is_valid", "1"), Is.EqualTo("false"));
    }

    [Test]
    public void YamlRoundTripAndScalars()
    {
        var yaml = Call("yaml.marshal", "[{\"foo\": [1, 2, 3], \"bar\": {\"x\": \"true\", \"y\": \"\", \"z\": \"a: b\"}, \"e\": []}]")!.ToJson();
        Assert.That(Json("yaml.unmarshal", yaml), Is.EqualTo("[{\"bar\":{\"x\":\"true\",\"y\":\"\",\"z\":\"a: b\"},\"e\":[],\"foo\":[1,2,3]}]"));
        Assert.That(Json("yaml.unmarshal", Q("a: ~\nb: yes\nc: 1.5\nd: '1'\ne: 0x1F\nf: hello")), Is.EqualTo("{\"a\":null,\"b\":true,\"c\":1.5,\"d\":\"1\",\"e\":31,\"f\":\"hello\"}"));
        Assert.That(Json("yaml.marshal", "{\"a\": [1, \"x\"], \"b\": {\"c\": null}}"), Is.EqualTo(Q("a:\n- 1\n- x\nb:\n  c: null\n")));
    }

    [Test]
    public void YamlMergeKeys()
        => Assert.That(Json("yaml.unmarshal", Q("base: &b {x: 1, z: 2}\nderived:\n  <<: *b\n  z: 3\n")),
            Is.EqualTo("{\"base\":{\"x\":1,\"z\":2},\"derived\":{\"x\":1,\"z\":3}}"));

    [TestCase("foo:\n  - qux: bar\n  - baz: 2", true)]
    [TestCase("foo:\n  - qux: bar\n  - baz: {", false)]
    [TestCase("{\"json\": \"ok\"}", true)]
    [TestCase("  test:\ntest1: hello\n", false)]
    [TestCase("a: 1\n---\n\tb: 2\n", false)]
    [TestCase("a: 1\n---\nb: 2\n", true)]
    public void YamlIsValid(string text, bool expected) => Assert.That(Json("yaml.is_valid", Q(text)), Is.EqualTo(expected ? "true" : "false"));

    [Test]
    public void YamlAliasBombIsRejected()
    {
        var sb = new System.Text.StringBuilder("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for (int i = 1; i < 9; i++) sb.Append($"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n");
        Assert.That(Fails("yaml.unmarshal", Q(sb.ToString())).Code, Is.EqualTo("eval_builtin_error"));
    }
}
