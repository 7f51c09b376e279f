"""Generators of committed source files (TypeScript types, vocabularies); each is checked up to date by a test."""
