/**
 * Choosing the file: a file input, and a drop zone around it that takes a file dragged onto it.
 * Either way the choice is one `File`, handed to `onChosen`.
 */
import type { RecordFormat } from '../../operations/generated.js';

export function filePicker(zone: HTMLElement, input: HTMLInputElement, onChosen: (file: File) => void): void {
  input.addEventListener('change', () => {
    const [file] = input.files ?? [];
    if (file) onChosen(file);
  });
  // A drop is only allowed where dragover is cancelled; the class shows where a drop would land.
  zone.addEventListener('dragover', (event) => {
    if (!event.dataTransfer?.types.includes('Files')) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', (event) => {
    if (!zone.contains(event.relatedTarget as Node | null)) zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const [file] = event.dataTransfer?.files ?? [];
    if (!file) return;
    // The input shows the dropped file too, so that the form reads the same either way.
    if (event.dataTransfer) input.files = event.dataTransfer.files;
    onChosen(file);
  });
}

/** The format the user picked, or the one the file's extension names; undefined when neither says. */
export function recordFormat(file: File, picked: string): RecordFormat | undefined {
  if (picked === 'NDJSON' || picked === 'CSV') return picked;
  const extension = file.name.toLowerCase().split('.').at(-1);
  if (extension === 'csv') return 'CSV';
  if (extension === 'ndjson' || extension === 'jsonl' || extension === 'json') return 'NDJSON';
  return undefined;
}
