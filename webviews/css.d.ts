// esbuild loads .css imports as text (see esbuild.mjs), which the panels adopt as lit styles.
declare module '*.css' {
  const text: string;
  export default text;
}
