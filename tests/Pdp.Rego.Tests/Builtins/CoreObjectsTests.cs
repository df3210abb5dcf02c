using Pdp.Rego.Values;

namespace Pdp.Rego.Tests.Builtins;

public sealed class CoreObjectsTests : CoreBuiltinTestBase
{
    [Test]
    public void Get_by_key_and_path()
    {
        var obj = J("{\"a\": {\"b\": [10, {\"c\": true}]}, \"x\": null}");
        AssertResult(Call("object.get", obj, S("x"), S("d")), Value.Null);
        AssertResult(Call("object.get", obj, S("zz"), S("d")), S("d"));
        AssertResult(Call("object.get", obj, J("[\"a\", \"b\", 1, \"c\"]"), S("d")), Value.True);
        AssertResult(Call("object.get", obj, J("[\"a\", \"b\", 5]"), S("d")), S("d"));
        AssertResult(Call("object.get", obj, J("[]"), S("d")), obj);
        Assert.That(Fails("object.get", S("x"), S("a"), N(1)).Message, Is.EqualTo("object.get: operand 1 must be object but got string"));
    }

    [Test]
    public void Keys_union_remove_filter()
    {
        AssertResult(Call("object.keys", J("{\"a\":1,\"b\":2}")), Set(S("a"), S("b")));
        Assert.That(Fails("object.keys", S("o")).Message, Is.EqualTo("object.keys: operand 1 must be object but got string"));
        AssertResult(Call("object.union", J("{\"a\":{\"b\":1,\"c\":2},\"d\":1}"), J("{\"a\":{\"b\":3},\"d\":{\"e\":1}}")),
            J("{\"a\":{\"b\":3,\"c\":2},\"d\":{\"e\":1}}"));
        Assert.That(Fails("object.union", J("{}"), J("[]")).Message, Is.EqualTo("object.union: operand 2 must be object but got array"));
        AssertResult(Call("object.union_n", J("[{\"a\":{\"b\":2}},{\"a\":4},{\"a\":{\"c\":3}}]")), J("{\"a\":{\"c\":3}}"));
        AssertResult(Call("object.union_n", J("[{\"a\":{\"b\":2}},{\"a\":{\"c\":3}}]")), J("{\"a\":{\"b\":2,\"c\":3}}"));
        AssertResult(Call("object.remove", J("{\"a\":1,\"b\":2}"), J("[\"a\"]")), J("{\"b\":2}"));
        AssertResult(Call("object.remove", J("{\"a\":1,\"b\":2}"), J("{\"b\":0}")), J("{\"a\":1}"));
        Assert.That(Fails("object.remove", J("{}"), S("a")).Message, Is.EqualTo("object.remove: operand 2 must be one of {object, set, array} but got string"));
        AssertResult(Call("object.filter", J("{\"a\":1,\"b\":2}"), Set(S("a"), S("z"))), J("{\"a\":1}"));
        Assert.That(Fails("object.filter", Value.Null, J("[]")).Message, Is.EqualTo("object.filter: operand 1 must be object but got null"));
    }

    [Test]
    public void Union_merges_deeply_nested_objects()
    {
        Value a = N(1), b = N(2);
        for (int i = 0; i < 500; i++)
        {
            a = ObjectValue.FromPairs(("k", a), ("a" + i, N(i)));
            b = ObjectValue.FromPairs(("k", b));
        }
        var merged = Call("object.union", a, b);
        Value cur = merged!;
        for (int i = 499; i >= 0; i--)
        {
            var o = (ObjectValue)cur;
            Assert.That(o["a" + i], Is.EqualTo(N(i)));
            cur = o["k"]!;
        }
        AssertResult(cur, N(2));
    }

    [Test]
    public void Subset()
    {
        AssertResult(Call("object.subset", J("{\"a\":\"b\",\"c\":{\"x\":[1,2,3],\"y\":\"z\"}}"), J("{\"c\":{\"x\":[2,3]}}")), Value.True);
        AssertResult(Call("object.subset", J("{\"a\":1}"), J("{\"a\":2}")), Value.False);
        AssertResult(Call("object.subset", Set(N(1), N(2)), Set(N(1))), Value.True);
        AssertResult(Call("object.subset", J("[1,2,3,4]"), J("[2,4]")), Value.False);
        AssertResult(Call("object.subset", J("[1,2,3,4]"), J("[2,3]")), Value.True);
        AssertResult(Call("object.subset", J("[1,2,3]"), Set(N(3), N(1))), Value.True);
        Assert.That(Fails("object.subset", J("{}"), J("[]")).Code, Is.EqualTo("eval_type_error"));
    }
}
