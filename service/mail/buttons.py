"""Buttons that Outlook for Windows draws as buttons too.

Outlook desktop renders HTML with Word, which ignores padding and border-radius on links:
a button there is a bare underlined link. The usual fix is a VML rounded rectangle inside a
conditional comment that only Outlook reads, while every other client gets the HTML table.
Both halves are written as one Jinja expression each, so the CSS inlining of the templates
(service/mail/inlining.py), which hides Jinja tags in comments, sees no comment it could split.
"""

from __future__ import annotations

from markupsafe import Markup

# Word measures a VML shape in points and does not grow it to fit its text: wide enough for
# "Öppna Mina aktiviteter" at 15px bold, with room to spare.
WIDTH_PT = 220
HEIGHT_PT = 30


def outlook_button_start(url: str, label: str, color: str) -> Markup:
    """The VML button for Outlook, then the start of what every other client shows."""
    return Markup(
        "<!--[if mso]>"
        '<v:roundrect xmlns:v="urn:schemas-microsoft-com:vml" '
        'xmlns:w="urn:schemas-microsoft-com:office:word" href="{url}" '
        'style="height:{height}pt;v-text-anchor:middle;width:{width}pt;" arcsize="12%" '
        'strokecolor="{color}" fillcolor="{color}">'
        "<w:anchorlock/>"
        '<center style="color:#ffffff;font-family:Arial,Helvetica,sans-serif;font-size:15px;'
        'font-weight:bold;">{label}</center>'
        "</v:roundrect>"
        "<![endif]-->"
        "<!--[if !mso]><!-->"
    ).format(url=url, label=label, color=color, width=WIDTH_PT, height=HEIGHT_PT)


def outlook_button_end() -> Markup:
    """Closes what outlook_button_start opened for clients other than Outlook."""
    return Markup("<!--<![endif]-->")
