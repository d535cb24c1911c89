"""Assembles README.md from docs/readme-head.md and the section pages in docs/ (run by hand)."""
import re, pathlib
root = pathlib.Path(__file__).resolve().parent.parent
parts = [(root / 'docs/readme-head.md').read_text()]
sections = ['protocol-eras', 'observability', 'resilience', 'batch-pool', 'features', 'security', 'cli', 'embedding', 'testing', 'conformance', 'fleet', 'architecture']
for name in sections:
    path = root / 'docs' / f'{name}.md'
    if not path.exists():
        continue
    text = path.read_text()
    if re.match(r'^# ', text):  # demote one level: pages are written as '# Title'
        out, fenced = [], False
        for line in text.split('\n'):
            if line.startswith('```'):
                fenced = not fenced
            elif not fenced and re.match(r'^#+ ', line):
                line = '#' + line
            out.append(line)
        text = '\n'.join(out)
    text = text.replace('](./', '](docs/').replace('](../', '](')
    if name == 'cli':  # the connection chart as Mermaid too (GitHub renders it)
        mmd = (root / 'docs/statecharts/connection.mmd').read_text().strip()
        text += f'\n\nThe same chart as Mermaid:\n\n```mermaid\n{mmd}\n```\n'
    parts.append(text.strip() + '\n')
parts.append((root / 'docs/readme-tail.md').read_text())
(root / 'README.md').write_text('\n'.join(parts))
