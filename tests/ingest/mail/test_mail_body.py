"""The body a person reads: quoted history trimmed, HTML as text (no database)."""

from __future__ import annotations

from ingest.mail.body import html_to_text, trim_body


def test_trim_body_drops_quoted_history_and_caps_length() -> None:
    text = (
        "Hi,\r\n\r\nyes.\r\n\r\n\r\n\r\n"
        "On Mon, 3 Mar 2025, Ann <a@b.c> wrote:\r\n> old\r\n>> older\r\n"
    )
    assert trim_body(text) == ("Hi,\n\nyes.", False)
    assert trim_body("x" * 30, limit=10) == ("xxxxxxxxxx […]", True)
    assert trim_body("> only a quote") == (None, False)
    # An interleaved reply keeps its quotes.
    assert trim_body("> question?\nanswer.") == ("> question?\nanswer.", False)


def test_html_to_text() -> None:
    markup = (
        "<html><head><title>x</title><style>p{}</style></head><body><!-- c -->"
        "<p>Hello&nbsp;<b>Ann</b>,</p><ul><li>one</li><li>two</li></ul>"
        "3 &lt; 4<br/>end</body></html>"
    )
    assert html_to_text(markup).strip() == "Hello Ann,\n\n- one\n- two\n3 < 4\nend"
