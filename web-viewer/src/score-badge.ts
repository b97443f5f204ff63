/**
 * The gland's ultrasound score beside the area: OMERACT and De Vita grade (0–3) with the
 * probability of that grade, labelled a research aid; one click on it opens the score model's
 * validation (weighted κ by leave one centre out) beside the clinicians' published κ, so the
 * grade is never read without its measured agreement. Not a diagnosis.
 *
 * Built into the figures panel on the first scored frame (a server without a score model never
 * shows it); its style is in style.css (the page's CSP allows no injected <style>).
 */
import type { WireScore } from '../../src/shared/protocol.js';


export interface ScoreTexts {
  grade: string;
  title: string;
  validation: string;
}

const pct = (p: number): string => `${Math.round(p * 100)} %`;
const k = (v: number | null | undefined, d = 2): string => (typeof v === 'number' ? v.toFixed(d) : '–');

/** The texts of a score (pure, for tests). */
export function scoreTexts(s: WireScore | undefined): ScoreTexts {
  const validation = s?.validation;
  const v = validation !== undefined
    ? `Agreement with the reference score, weighted κ per frame on centres the model never trained on (leave one centre out): OMERACT ${k(validation.omeractKappa, 3)}, De Vita ${k(validation.deVitaKappa, 3)}. Published: radiomics model ${k(validation.publishedModelKappa)}, clinicians ${k(validation.cliniciansKappa)} on average, one clinician with herself ${k(validation.intraReaderKappa)}. ${s?.label ?? 'Research aid, not a diagnosis'}.`
    : `No validation figures from the server. ${s?.label ?? 'Research aid, not a diagnosis'}.`;
  if (s === undefined) return { grade: '–', title: 'No gland scored on this frame', validation: v };
  return {
    grade: `OMERACT ${s.omeract.grade} (${pct(s.omeract.confidence)}) · De Vita ${s.deVita.grade} (${pct(s.deVita.confidence)})`,
    title: `Ultrasound score of this frame, with the model's probability of each grade: ${s.label}. Click for its measured agreement.`,
    validation: v,
  };
}

export class ScoreBadge {
  #root: HTMLElement | undefined;
  #grade: HTMLElement | undefined;
  #button: HTMLButtonElement | undefined;
  #popover: HTMLElement | undefined;
  #last = '';

  /** Shows the score of the frame on screen; `undefined` (no gland) shows a dash once the badge exists. */
  #scoredAt = -Infinity;

  update(score: WireScore | undefined): void {
    if (score === undefined && this.#root === undefined) return;
    // The pipeline scores one frame in a few (score-stage.ts `every`): between two, the last grade
    // stays, and goes once no frame has been scored for a second (no gland seen).
    const now = performance.now();
    if (score !== undefined) this.#scoredAt = now;
    else if (now - this.#scoredAt < 1000) return;
    this.#build();
    const t = scoreTexts(score);
    const key = `${t.grade}|${t.validation}`;
    if (key === this.#last) return;
    this.#last = key;
    this.#grade!.textContent = t.grade;
    this.#button!.title = t.title;
    this.#popover!.textContent = t.validation;
    this.#root!.dataset['grade'] = score !== undefined ? `${score.omeract.grade},${score.deVita.grade}` : '';
  }

  /** A new stream: hidden again until its first scored frame. */
  reset(): void {
    this.#root?.remove();
    this.#root = this.#grade = this.#button = this.#popover = undefined;
    this.#last = '';
  }

  #build(): void {
    if (this.#root !== undefined) return;
    const root = document.createElement('span');
    root.id = 'score-badge';
    root.className = 'fig';
    const button = document.createElement('button');
    button.type = 'button';
    button.id = 'score-button';
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-controls', 'score-popover');
    const name = document.createElement('span');
    name.className = 'k';
    name.textContent = 'score';
    const grade = document.createElement('span');
    grade.id = 'score-grade';
    grade.className = 'v';
    button.append(name, ' ', grade);
    const label = document.createElement('span');
    label.className = 'score-label';
    label.textContent = 'research aid, not a diagnosis';
    const popover = document.createElement('div');
    popover.id = 'score-popover';
    popover.setAttribute('role', 'dialog');
    popover.hidden = true;
    button.addEventListener('click', () => {
      popover.hidden = !popover.hidden;
      button.setAttribute('aria-expanded', String(!popover.hidden));
    });
    document.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !popover.hidden) {
        popover.hidden = true;
        button.setAttribute('aria-expanded', 'false');
      }
    });
    root.append(button, label, popover);
    // Beside the area: right after it in the figures panel (or at its end).
    const area = document.getElementById('area')?.closest('.fig');
    const panel = document.getElementById('figures');
    if (area !== null && area !== undefined) area.after(root);
    else panel?.append(root);
    this.#root = root;
    this.#grade = grade;
    this.#button = button;
    this.#popover = popover;
  }
}
