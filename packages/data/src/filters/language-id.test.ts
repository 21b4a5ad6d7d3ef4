import { describe, expect, it } from 'vitest';
import { identifyLanguage, languageFilter } from './language-id.js';

const samples: Record<string, string> = {
  en: 'The cat is sleeping on the warm roof and it was not hungry for the fish that they brought.',
  de: 'Die Katze schläft auf dem warmen Dach und sie ist nicht hungrig, auch wenn wir den Fisch bringen.',
  fr: 'Le chat dort sur le toit chaud et il est pas affamé pour le poisson que nous avons apporté dans la cuisine.',
  es: 'El gato duerme en el techo y no tiene hambre, pero los niños le traen pescado para la cena con su madre.',
  it: 'Il gatto dorme sul tetto caldo e non ha fame, anche se gli portiamo il pesce per la cena della sera.',
  pt: 'O gato dorme no telhado e não tem fome, mas os meninos trazem peixe para o jantar com a mãe dele.',
  nl: 'De kat slaapt op het warme dak en heeft geen honger, maar wij brengen een vis voor het avondeten.',
  ru: 'Кошка спит на тёплой крыше и не голодна, хотя мы принесли ей рыбу на ужин.',
  ja: '猫は暖かい屋根の上で寝ていて、お腹が空いていません。',
  zh: '猫在温暖的屋顶上睡觉，它不饿，虽然我们给它带来了鱼。',
  ko: '고양이는 따뜻한 지붕 위에서 자고 있고 배가 고프지 않습니다.',
  el: 'Η γάτα κοιμάται στη ζεστή στέγη και δεν πεινάει.',
  ar: 'القطة نائمة على السطح الدافئ وليست جائعة.',
};

describe('language identification heuristic', () => {
  for (const [lang, text] of Object.entries(samples)) {
    it(`identifies ${lang}`, () => {
      const guess = identifyLanguage(text);
      expect(guess.language).toBe(lang);
      expect(guess.score).toBeGreaterThan(0.5);
    });
  }

  it('is undetermined without letters or function words', () => {
    expect(identifyLanguage('1234 5678 !!!')).toEqual({ language: 'und', score: 0 });
    expect(identifyLanguage('xyzzy plugh').language).toBe('und');
  });

  it('filters by language and score, with a pluggable identifier', () => {
    const english = languageFilter();
    expect(english.apply({ text: samples.en!, meta: {} })).not.toBeNull();
    expect(english.apply({ text: samples.de!, meta: {} })).toBeNull();
    const custom = languageFilter({
      keep: ['xx'],
      identify: (t) => ({ language: t.startsWith('#') ? 'xx' : 'en', score: 0.9 }),
    });
    expect(custom.apply({ text: '# keep', meta: {} })).not.toBeNull();
    expect(custom.apply({ text: 'drop', meta: {} })).toBeNull();
    const strict = languageFilter({ identify: () => ({ language: 'en', score: 0.4 }) });
    expect(strict.apply({ text: 'anything', meta: {} })).toBeNull();
  });
});
