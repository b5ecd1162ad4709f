from r1chat.markdown_parts import code_blocks, is_web_link, last_code_block, links


def test_code_blocks_are_found_in_order_without_their_fences():
    text = "Intro\n\n```python\nprint(1)\n```\n\n    indented = True\n\n```\nlast\n```\n"
    assert code_blocks(text) == ["print(1)\n", "indented = True\n", "last\n"]
    assert last_code_block(text) == "last\n"
    assert last_code_block("no code here") is None


def test_links_keep_their_text_and_each_target_once():
    text = "See [the `paper`](https://a.example/x), [again](https://a.example/x) and <https://b.example>."
    assert links(text) == [("the paper", "https://a.example/x"), ("https://b.example", "https://b.example")]


def test_only_http_and_https_are_web_links():
    assert is_web_link("https://x.example") and is_web_link(" HTTP://x.example")
    assert not is_web_link("file:///etc/passwd") and not is_web_link("javascript:alert(1)")
