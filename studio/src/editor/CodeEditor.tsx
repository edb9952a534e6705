// The code editor (CodeMirror 6), loaded only by the pages that edit code:
// it is most of Studio's JavaScript, and the other pages do without it.
import { useEffect, useRef } from "react";
import { EditorView, basicSetup } from "codemirror";
import { EditorState, type Extension } from "@codemirror/state";
import { StreamLanguage } from "@codemirror/language";
import { rust } from "@codemirror/lang-rust";
import { python } from "@codemirror/lang-python";
import { javascript } from "@codemirror/lang-javascript";
import { json } from "@codemirror/lang-json";
import { toml } from "@codemirror/legacy-modes/mode/toml";

/** The nonce the server gave this page: CodeMirror's styles need it. */
const nonce = document.querySelector<HTMLMetaElement>('meta[name="csp-nonce"]')?.content ?? "";

/** Syntax highlighting by the file's name. */
function languageFor(path: string): Extension[] {
  if (path.endsWith(".rs")) return [rust()];
  if (path.endsWith(".py")) return [python()];
  if (/\.(js|mjs|ts)$/.test(path)) return [javascript({ typescript: path.endsWith(".ts") })];
  if (path.endsWith(".json")) return [json()];
  if (path.endsWith(".toml")) return [StreamLanguage.define(toml)];
  return [];
}

export default function CodeEditor({
  path,
  value,
  onChange,
  readOnly = false,
  label,
}: {
  path: string;
  value: string;
  onChange?: (value: string) => void;
  readOnly?: boolean;
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const changed = useRef(onChange);
  changed.current = onChange;

  // One editor per file: a new path is a new document with its language.
  useEffect(() => {
    const editor = new EditorView({
      parent: host.current!,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          EditorView.cspNonce.of(nonce),
          ...languageFor(path),
          EditorState.readOnly.of(readOnly),
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((update) => {
            if (update.docChanged) changed.current?.(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [path, readOnly]);

  // A value set from outside (a template, a version's source) replaces the text.
  useEffect(() => {
    const editor = view.current;
    if (editor && editor.state.doc.toString() !== value) {
      editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div className="code-editor" ref={host} data-path={path} />;
}
