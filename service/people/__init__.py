"""People from the municipality's own systems: an HR export, Entra ID, Active Directory.

Every source yields a `Roster`; `roster.apply_roster` turns it into a diff against the store and
applies it all or nothing.
"""
