// Overview: placeholder until the stats endpoint lands.
export function Overview() {
  return <h1>Overview</h1>;
}
