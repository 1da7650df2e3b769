"""The plan report for the committee: the adopted table with "Kontroll utfört. Datum." filled,
effect figures and charts, written as json, html, docx, xlsx or pdf."""
